-- case: adding an enum value cannot be undone by a down
-- setup:
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE people (id int PRIMARY KEY, m mood);
-- up:
ALTER TYPE mood ADD VALUE 'happy';
-- expect: phase=pre-deploy backwardCompatible=true reversible=false dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: RV101:error
