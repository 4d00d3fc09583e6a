-- case: text to varchar where every stored text fits is no data loss
-- setup:
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes (id, body) VALUES (2000001, 'short note'), (2000002, NULL);
-- up:
ALTER TABLE notes ALTER COLUMN body TYPE varchar(200);
-- down:
ALTER TABLE notes ALTER COLUMN body TYPE text;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:info PG104:error PG202:info
