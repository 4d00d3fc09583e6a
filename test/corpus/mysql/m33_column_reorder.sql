-- case: moving a column is INSTANT but shifts values replica-first
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
ALTER TABLE users MODIFY age INT AFTER id;
-- down:
ALTER TABLE users MODIFY age INT AFTER price;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=in-place algorithm=INSTANT
-- findings: MY202:info RF103:info RF203:info
