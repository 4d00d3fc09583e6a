-- case: an UPDATE without WHERE locks every row until it commits
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
-- up:
UPDATE users SET age = 0;
-- down:
UPDATE users SET age = NULL;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: DL109:warning PG301:error
