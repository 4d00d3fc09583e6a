-- case: widening VARCHAR inside its length class is INSTANT
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
ALTER TABLE users MODIFY name VARCHAR(60) NOT NULL;
-- down:
ALTER TABLE users MODIFY name VARCHAR(50) NOT NULL;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=in-place algorithm=INSTANT
-- findings: MY202:info RF104:info RF205:info RV202:warning
