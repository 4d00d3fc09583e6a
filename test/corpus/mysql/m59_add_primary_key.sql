-- case: a primary key added to a table that had none rejects the duplicate the old code could write
-- setup:
CREATE TABLE tags (name VARCHAR(50) NOT NULL, note VARCHAR(100));
-- up:
ALTER TABLE tags ADD PRIMARY KEY (name);
-- down:
ALTER TABLE tags DROP PRIMARY KEY;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC114:error MY201:warning RF112:info RF212:info
