-- case: bigint to integer where every stored value is in range is no data loss
-- setup:
CREATE TABLE events (id int PRIMARY KEY, counter bigint NOT NULL, note varchar(40));
INSERT INTO events (id, counter, note) VALUES (2000001, 42, 'small'), (2000002, -7, 'negative');
-- up:
ALTER TABLE events ALTER COLUMN counter TYPE integer;
-- down:
ALTER TABLE events ALTER COLUMN counter TYPE bigint;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:info PG104:error PG202:info
