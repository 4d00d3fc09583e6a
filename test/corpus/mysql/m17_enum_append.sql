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
-- expect: backwardCompatible=true dataLoss=false blocking=false algorithm=INSTANT replicaFirstSafe=true replicaFirstReverseSafe=false
-- expect-rules: RF207:info
-- expect-no-rules: BC112 RF107
