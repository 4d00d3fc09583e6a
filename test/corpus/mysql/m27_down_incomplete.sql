-- case: a down that forgets the index does not restore the schema
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
ALTER TABLE users ADD COLUMN nickname VARCHAR(30), ADD INDEX idx_nick (nickname);
-- down:
ALTER TABLE users DROP INDEX idx_nick;
-- expect: phase=pre-deploy backwardCompatible=true reversible=false dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: MY201:warning RF113:info RV102:error
