-- case: narrowing varchar where every stored row fits is no data loss (counted on the shadow)
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
INSERT INTO users (id, name, email, age) VALUES (2000001, 'Ada', 'ada@example.org', 36), (2000002, 'Bo', NULL, NULL);
-- up:
ALTER TABLE users ALTER COLUMN email TYPE varchar(30);
-- down:
ALTER TABLE users ALTER COLUMN email TYPE varchar(100);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC105:info DL107:info PG104:error PG202:info
