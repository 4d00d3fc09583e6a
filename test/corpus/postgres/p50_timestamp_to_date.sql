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
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC106:warning DL104:error PG104:error PG202:info RV202:warning
