-- case: a primary key added to a table that had none rejects the duplicate the old code could write
-- setup:
CREATE TABLE tags (name VARCHAR(50) NOT NULL, note VARCHAR(100));
-- up:
ALTER TABLE tags ADD PRIMARY KEY (name);
-- down:
ALTER TABLE tags DROP PRIMARY KEY;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC114:error MY201:warning RF112:info RF212:info
-- known-disagreement: replicaFirstSafe measured=false engine=true issue 18: the old code writes a row the new key refuses (a copy of row 1 / an UPDATE giving rows the same value): replicated to a replica that already has the key, it stops replication (error 1062). The engine's RF rules judge the row format only; the refused write itself is the BC finding (backwardCompatible=false)
