-- case: cutting a numeric's precision where every stored price fits is no data loss
-- setup:
CREATE TABLE products (id int PRIMARY KEY, price numeric(10,2) NOT NULL);
INSERT INTO products (id, price) VALUES (2000001, 19.99), (2000002, 1234.50);
-- up:
ALTER TABLE products ALTER COLUMN price TYPE numeric(6,2);
-- down:
ALTER TABLE products ALTER COLUMN price TYPE numeric(10,2);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:info PG104:error PG202:info
