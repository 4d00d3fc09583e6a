-- case: SET NOT NULL on a column with a default still refuses the old code's explicit NULL
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int DEFAULT 0
);
-- up:
ALTER TABLE users ALTER COLUMN age SET NOT NULL;
-- down:
ALTER TABLE users ALTER COLUMN age DROP NOT NULL;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC108:error PG105:error PG202:info
