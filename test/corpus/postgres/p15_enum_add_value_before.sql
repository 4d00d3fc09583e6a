-- case: an enum value added BEFORE another changes sort order
-- setup:
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE people (id int PRIMARY KEY, m mood);
-- up:
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
-- expect: phase=pre-deploy backwardCompatible=true reversible=false dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC113:warning RV101:error
