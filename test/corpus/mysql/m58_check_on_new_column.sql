-- case: a CHECK on a column this migration adds constrains no old write
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
ALTER TABLE users ADD COLUMN score INT NULL, ADD CONSTRAINT chk_score CHECK (score >= 0);
-- down:
ALTER TABLE users DROP CONSTRAINT chk_score, DROP COLUMN score;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=replica-first algorithm=COPY
-- findings: MY101:warning RF110:warning RV201:warning
