-- case: a primary key added to a table that had none rejects the duplicate the old code could write
-- setup:
CREATE TABLE tags (name varchar(50) NOT NULL, note varchar(100));
-- up:
ALTER TABLE tags ADD PRIMARY KEY (name);
-- down:
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC114:error PG107:error PG202:info
