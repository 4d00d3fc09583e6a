-- case: integer to smallint where every stored value is in range is no data loss
-- setup:
CREATE TABLE stock (id int PRIMARY KEY, qty integer NOT NULL);
INSERT INTO stock (id, qty) VALUES (2000001, 12), (2000002, -300);
-- up:
ALTER TABLE stock ALTER COLUMN qty TYPE smallint;
-- down:
ALTER TABLE stock ALTER COLUMN qty TYPE integer;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:info PG104:error PG202:info
