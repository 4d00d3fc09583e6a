-- case: cutting numeric integer digits refuses the largest values the old code writes
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  price numeric(10,2)
);
-- up:
ALTER TABLE users ALTER COLUMN price TYPE numeric(6,2);
-- down:
ALTER TABLE users ALTER COLUMN price TYPE numeric(10,2);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:warning PG104:error PG202:info
