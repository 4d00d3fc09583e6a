-- case: a unique index built concurrently still rejects a duplicate the old code could write
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
CREATE UNIQUE INDEX CONCURRENTLY users_name_uq ON users (name);
-- down:
DROP INDEX CONCURRENTLY users_name_uq;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC109:error
