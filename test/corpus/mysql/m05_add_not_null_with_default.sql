-- case: a NOT NULL column with a default is compatible
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
ALTER TABLE users ADD COLUMN tenant_id INT NOT NULL DEFAULT 1;
-- down:
ALTER TABLE users DROP COLUMN tenant_id;
-- expect: phase=pre-deploy backwardCompatible=true blocking=false replicaFirstSafe=true
-- expect-no-rules: BC107 RF111
