-- case: a column added and backfilled in one migration: the backfill blocks writes, and it cannot run replica-first
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  age INT
);
-- up:
ALTER TABLE users ADD COLUMN score INT;
UPDATE users SET score = 0;
-- down:
ALTER TABLE users DROP COLUMN score;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=refused algorithm=INSTANT
-- findings: MY202:info MY301:error RF116:error RV201:warning
