-- case: with the old code's queries: moving the primary key breaks none of them when they only read the table
-- queries: SELECT id, name, email FROM users WHERE email = 'email1'
-- queries: SELECT COUNT(*) FROM users
-- setup:
CREATE TABLE users (
  id int PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100) NOT NULL
);
-- up:
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (email);
-- down:
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC114:warning PG107:error PG202:info
