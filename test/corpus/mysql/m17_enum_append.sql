-- case: appending an ENUM value keeps indexes: replica-first safe, not in reverse
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
ALTER TABLE users MODIFY status ENUM('new','active','closed','archived') NOT NULL DEFAULT 'new';
-- down:
ALTER TABLE users MODIFY status ENUM('new','active','closed') NOT NULL DEFAULT 'new';
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=false strategy=in-place algorithm=INSTANT
-- findings: MY202:info RF207:info
