-- case: CREATE INDEX CONCURRENTLY runs outside a transaction and does not block
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);
-- down:
DROP INDEX CONCURRENTLY orders_user_idx;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: 
