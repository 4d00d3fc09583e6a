-- case: dropping a column is a contract step that loses data
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users DROP COLUMN age;
-- down:
ALTER TABLE users ADD COLUMN age int;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC102:info DL102:warning PG202:info
