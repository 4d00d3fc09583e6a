-- case: a table rename with a view under the old name stays compatible
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE orders RENAME TO purchases;
CREATE VIEW orders AS SELECT * FROM purchases;
-- down:
DROP VIEW orders;
ALTER TABLE purchases RENAME TO orders;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC118:info PG202:info
