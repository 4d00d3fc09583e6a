-- case: a primary key extended by a column accepts every row the old code writes
-- setup:
CREATE TABLE users (
  id int PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100)
);
-- up:
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id, name);
-- down:
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC114:warning PG107:error PG202:info
