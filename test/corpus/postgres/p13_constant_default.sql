-- case: a constant default is metadata-only since PG 11
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0;
-- down:
ALTER TABLE users DROP COLUMN score;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: PG202:info RV201:warning
