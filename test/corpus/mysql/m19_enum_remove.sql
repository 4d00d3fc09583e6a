-- case: removing an ENUM value breaks old writes and loses data
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
ALTER TABLE users MODIFY status ENUM('new','active') NOT NULL DEFAULT 'new';
-- down:
ALTER TABLE users MODIFY status ENUM('new','active','closed') NOT NULL DEFAULT 'new';
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=refused algorithm=COPY
-- findings: BC112:info DL107:warning MY101:error RF107:error
