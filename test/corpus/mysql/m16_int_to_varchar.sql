-- case: a type-family change stops row-based replication: refused
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
ALTER TABLE users MODIFY age VARCHAR(20);
-- down:
ALTER TABLE users MODIFY age INT;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC106:warning MY101:error RF106:error RF206:warning RV202:warning
