-- case: a column added in the middle is INSTANT in place but corrupts a replica-first replica
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
ALTER TABLE users ADD COLUMN nickname VARCHAR(30) AFTER id;
-- down:
ALTER TABLE users DROP COLUMN nickname;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=in-place algorithm=INSTANT
-- findings: MY202:info RF101:info RF202:info RV201:warning
