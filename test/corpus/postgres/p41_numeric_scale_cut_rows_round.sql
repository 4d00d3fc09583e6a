-- case: a numeric scale cut rounds a stored value that uses the dropped place
-- setup:
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
INSERT INTO orders (id, user_id, total) VALUES (2000001, 7, 10.57), (2000002, 8, 3.50);
-- up:
ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,1);
-- down:
ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2);
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL103:error PG104:error PG202:info RV202:warning
