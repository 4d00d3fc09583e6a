-- case: a secondary index is built online
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
ALTER TABLE users ADD INDEX idx_email (email);
-- down:
ALTER TABLE users DROP INDEX idx_email;
-- expect: backwardCompatible=true blocking=false strategy=in-place replicaFirstSafe=true
-- expect-no-rules: MY101 BC109
