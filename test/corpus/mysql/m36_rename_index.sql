-- case: renaming an index is instant and invisible to queries that do not name it
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
ALTER TABLE users RENAME INDEX idx_email TO users_email_idx;
-- down:
ALTER TABLE users RENAME INDEX users_email_idx TO idx_email;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: MY202:info RF113:info
