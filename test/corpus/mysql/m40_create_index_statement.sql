-- case: CREATE INDEX (not ALTER TABLE) is probed too and runs online
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
CREATE INDEX idx_age ON users (age);
-- down:
DROP INDEX idx_age ON users;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: MY202:info RF113:info
