-- case: SET NOT NULL after a NOT VALID IS NOT NULL check: the check already refused every NULL write
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;
-- up:
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
-- down:
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC108:warning PG105:error PG202:info
