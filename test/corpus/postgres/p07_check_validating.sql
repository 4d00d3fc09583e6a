-- case: a CHECK without NOT VALID scans under ACCESS EXCLUSIVE
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ADD CONSTRAINT users_age_chk CHECK (age >= 0);
-- down:
ALTER TABLE users DROP CONSTRAINT users_age_chk;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC110:error PG103:error PG202:info
