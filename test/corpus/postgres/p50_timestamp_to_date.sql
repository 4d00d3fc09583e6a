-- case: changing timestamp to date drops the time of day; every old statement still runs
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  created_at timestamp
);
-- up:
ALTER TABLE users ALTER COLUMN created_at TYPE date;
-- down:
ALTER TABLE users ALTER COLUMN created_at TYPE timestamp;
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC106:warning DL104:error PG104:error PG202:info RV202:warning
-- known-disagreement: phase measured=post-deploy engine=pre-deploy a type-family change (BC106) does not force post-deploy in the engine; the servers show the old code's writes stored as other values after the up (a timestamp written, its time of day cut), which the phase policy counts as a contract: the old release relies on the old type
