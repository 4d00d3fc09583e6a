-- case: dropping a middle column is a contract step, loses data, and is not replica-first safe
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
ALTER TABLE users DROP COLUMN email;
-- down:
ALTER TABLE users ADD COLUMN email VARCHAR(100) AFTER name;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=in-place algorithm=INSTANT
-- findings: BC102:info DL102:warning MY202:info RF102:info RF201:info
