-- case: a down that restores the wrong type is not reversible
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ALTER COLUMN email TYPE varchar(200);
-- down:
ALTER TABLE users ALTER COLUMN email TYPE text;
-- expect: phase=pre-deploy backwardCompatible=true reversible=false dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: PG202:info RV102:error
