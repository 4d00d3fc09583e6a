-- case: dropping a table is a contract step
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
DROP TABLE orders;
-- down:
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC101:info DL101:warning
