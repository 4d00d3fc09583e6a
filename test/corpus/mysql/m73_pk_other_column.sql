-- case: moving the primary key to another column makes it unique there, refusing a duplicate the old code could write
-- setup:
CREATE TABLE users (
  id INT NOT NULL,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100) NOT NULL,
  PRIMARY KEY (id)
);
-- up:
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (email);
-- down:
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id);
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC114:error MY201:warning RF112:info RF212:info
-- known-disagreement: replicaFirstSafe measured=false engine=true issue 18: the old code writes a row the new key refuses (a copy of row 1 / an UPDATE giving rows the same value): replicated to a replica that already has the key, it stops replication (error 1062). The engine's RF rules judge the row format only; the refused write itself is the BC finding (backwardCompatible=false)
