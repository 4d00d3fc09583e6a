-- case: a column rename is a contract step
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users RENAME COLUMN email TO mail;
-- down:
ALTER TABLE users RENAME COLUMN mail TO email;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC104:info BC204:warning PG202:info
