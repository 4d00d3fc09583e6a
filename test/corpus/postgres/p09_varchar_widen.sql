-- case: varchar(n) -> varchar(m>n) is binary-compatible: no rewrite
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
ALTER TABLE users ALTER COLUMN email TYPE varchar(100);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: PG202:info RV202:warning
