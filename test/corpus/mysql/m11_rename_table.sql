-- case: renaming a table breaks the running release and stops replication replica-first
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
-- down:
RENAME TABLE customers TO users;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=in-place algorithm=null
-- findings: BC103:info BC203:warning RF109:info RF209:info
