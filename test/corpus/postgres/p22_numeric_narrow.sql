-- case: narrowing numeric scale rounds values and rewrites
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,1);
-- down:
ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2);
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL103:error PG104:error PG202:info RV202:warning
