-- case: DROP INDEX without CONCURRENTLY takes a short ACCESS EXCLUSIVE lock
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
CREATE INDEX orders_user_idx ON orders (user_id);
-- up:
DROP INDEX orders_user_idx;
-- down:
CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: PG201:warning PG202:info
