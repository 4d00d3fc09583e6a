-- case: ADD UNIQUE builds the index under ACCESS EXCLUSIVE
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ADD CONSTRAINT users_email_uq UNIQUE (email);
-- down:
ALTER TABLE users DROP CONSTRAINT users_email_uq;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC109:error PG107:error PG202:info
