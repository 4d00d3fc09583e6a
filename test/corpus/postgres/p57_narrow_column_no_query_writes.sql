-- case: with the old code's queries: narrowing a column they only read breaks none of them
-- queries: SELECT id, name, email FROM users WHERE id = 1
-- queries: INSERT INTO users (name) VALUES ('ann')
-- queries: UPDATE users SET name = 'bob' WHERE id = 1
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  legacy_note text
);
-- up:
ALTER TABLE users ALTER COLUMN email TYPE varchar(50);
-- down:
ALTER TABLE users ALTER COLUMN email TYPE varchar(100);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:warning PG104:error PG202:info
-- known-disagreement: phase measured=pre-deploy engine=post-deploy the engine infers the phase from the change (BC105 forces post-deploy) even when the case's -- queries, the old code, do not use what it removes; every one of them runs after the up unchanged, so by the phase policy the migration need not wait for the new release (it is safe in either phase)
