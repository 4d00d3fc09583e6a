-- case: a unique index on a column this migration adds constrains no old write
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
ALTER TABLE users ADD COLUMN code VARCHAR(20) NULL, ADD UNIQUE INDEX uq_users_code (code);
-- down:
ALTER TABLE users DROP INDEX uq_users_code, DROP COLUMN code;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: MY201:warning RF110:info RV201:warning
