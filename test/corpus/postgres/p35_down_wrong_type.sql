-- case: a down that restores the wrong type is a reversibility defect, not a compatibility one
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ALTER COLUMN age TYPE bigint;
-- down:
ALTER TABLE users ALTER COLUMN age TYPE numeric;
-- expect: phase=pre-deploy backwardCompatible=true reversible=false dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: PG104:error PG202:info RV102:error RV202:warning
