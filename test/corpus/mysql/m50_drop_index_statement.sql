-- case: DROP INDEX as its own statement is metadata-only on MariaDB
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
CREATE INDEX idx_email ON users (email);
-- up:
DROP INDEX idx_email ON users;
-- down:
CREATE INDEX idx_email ON users (email);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: MY202:info RF113:info
