-- case: an acknowledged drop in a pre-deploy migration passes the compatibility check
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
-- phase: pre-deploy
-- ack: BC102 age is unused since release 41
-- expect: phase=pre-deploy backwardCompatible=true dataLoss=true
-- expect-rules: BC102:ack DL102
