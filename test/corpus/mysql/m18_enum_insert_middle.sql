-- case: an ENUM value inserted in the middle shifts indexes: silent corruption replica-first
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
ALTER TABLE users MODIFY status ENUM('new','pending','active','closed') NOT NULL DEFAULT 'new';
-- down:
ALTER TABLE users MODIFY status ENUM('new','active','closed') NOT NULL DEFAULT 'new';
-- expect: backwardCompatible=true dataLoss=false replicaFirstSafe=false
-- expect-rules: BC113:warning RF107
-- expect-no-rules: BC112
