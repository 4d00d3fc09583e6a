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
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:warning PG104:error PG202:info
