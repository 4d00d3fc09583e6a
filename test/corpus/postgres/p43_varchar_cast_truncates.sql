-- case: narrowing varchar with an explicit cast truncates a stored row that does not fit
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
INSERT INTO users (id, name, email, age) VALUES (2000001, 'Ada', 'ada.lovelace.countess@analytical-engine.example.org', 36), (2000002, 'Bo', 'bo@example.org', NULL);
-- up:
ALTER TABLE users ALTER COLUMN email TYPE varchar(30) USING email::varchar(30);
-- down:
ALTER TABLE users ALTER COLUMN email TYPE varchar(100);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL103:error PG104:error PG202:info
