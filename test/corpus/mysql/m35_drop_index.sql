-- case: dropping a secondary index is metadata-only
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
ALTER TABLE users DROP INDEX idx_email;
-- down:
ALTER TABLE users ADD INDEX idx_email (email);
-- expect: backwardCompatible=true blocking=false algorithm=NOCOPY replicaFirstSafe=true strategy=in-place
-- expect-rules: MY202:info
-- expect-no-rules: MY101 BC109
