-- case: a rename with a view under the old name keeps the running release working
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
-- up:
RENAME TABLE users TO customers;
CREATE VIEW users AS SELECT * FROM customers;
-- down:
DROP VIEW users;
RENAME TABLE customers TO users;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=in-place algorithm=null
-- findings: BC118:info RF109:info RF209:info
