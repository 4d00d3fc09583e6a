-- case: an ENUM value inserted in the middle shifts indexes: silent corruption replica-first
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
ALTER TABLE users MODIFY status ENUM('new','pending','active','closed') NOT NULL DEFAULT 'new';
-- down:
ALTER TABLE users MODIFY status ENUM('new','active','closed') NOT NULL DEFAULT 'new';
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC113:warning MY101:error RF107:error RF207:warning
