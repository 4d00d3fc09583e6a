-- case: dropping the last column is replica-first safe
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
ALTER TABLE users DROP COLUMN age;
-- down:
ALTER TABLE users ADD COLUMN age INT;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: BC102:info DL102:warning MY202:info RF113:info
