-- case: with the old code's queries: a table none of them names may be dropped
-- queries: SELECT id, name FROM users WHERE id = 1
-- queries: INSERT INTO users (name) VALUES ('ann')
-- setup:
CREATE TABLE users (id serial PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE legacy_audit (id serial PRIMARY KEY, note varchar(100));
-- up:
DROP TABLE legacy_audit;
-- down:
CREATE TABLE legacy_audit (id serial PRIMARY KEY, note varchar(100));
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC101:info DL101:warning
-- known-disagreement: phase measured=pre-deploy engine=post-deploy the engine infers the phase from the change (BC101 forces post-deploy) even when the case's -- queries, the old code, do not use what it removes; every one of them runs after the up unchanged, so by the phase policy the migration need not wait for the new release (it is safe in either phase)
