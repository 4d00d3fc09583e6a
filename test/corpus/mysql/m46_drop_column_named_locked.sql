-- case: dropping columns named locked / locked_at is INSTANT (a column name is not a LOCK= clause; issue 15 B5)
-- setup:
CREATE TABLE jobs (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  locked INT NOT NULL DEFAULT 0,
  locked_at DATETIME NULL
);
-- up:
ALTER TABLE jobs DROP COLUMN locked, DROP COLUMN locked_at;
-- down:
ALTER TABLE jobs ADD COLUMN locked INT NOT NULL DEFAULT 0, ADD COLUMN locked_at DATETIME NULL;
-- phase: post-deploy
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: BC102:info DL102:warning MY202:info RF113:info
