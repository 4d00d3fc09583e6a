-- case: a NOT NULL column without default breaks the running release
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ADD COLUMN tenant_id int NOT NULL;
-- down:
ALTER TABLE users DROP COLUMN tenant_id;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC107:error PG202:info RV201:warning
