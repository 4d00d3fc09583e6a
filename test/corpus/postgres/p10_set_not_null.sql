-- case: SET NOT NULL breaks NULL writes and scans under ACCESS EXCLUSIVE
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
-- down:
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC108:error PG105:error PG202:info
