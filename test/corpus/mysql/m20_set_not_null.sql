-- case: making a column NOT NULL breaks NULL writes and is silent corruption replica-first
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
ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL;
-- down:
ALTER TABLE users MODIFY email VARCHAR(100);
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC108:error MY201:warning RF108:info
