-- case: changing numeric to int rounds to whole numbers; every old statement still runs
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  price numeric(10,2)
);
-- up:
ALTER TABLE users ALTER COLUMN price TYPE int;
-- down:
ALTER TABLE users ALTER COLUMN price TYPE numeric(10,2);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC106:error DL104:error PG104:error PG202:info RV202:warning
-- known-disagreement: phase measured=post-deploy engine=pre-deploy a type-family change (BC106) does not force post-deploy in the engine; the servers refuse an old write after the up (22P02, '1.55' is no integer) and round the others (101.55 stored as 102), which the phase policy counts as a contract: the old release relies on the old type
