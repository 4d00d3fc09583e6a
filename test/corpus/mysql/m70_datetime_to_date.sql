-- case: changing DATETIME to DATE drops the time of day; every old statement still runs
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  created_at DATETIME
);
-- up:
ALTER TABLE users MODIFY created_at DATE;
-- down:
ALTER TABLE users MODIFY created_at DATETIME;
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC106:warning DL104:error MY101:error RF106:error RF206:warning RV202:warning
-- known-disagreement: phase measured=post-deploy engine=pre-deploy a type-family change (BC106) does not force post-deploy in the engine; the servers show the old code's writes stored as other values after the up (a DATETIME written, its time of day cut: 2024-01-18 10:00:00 stored as 2024-01-18), which the phase policy counts as a contract: the old release relies on the old type
