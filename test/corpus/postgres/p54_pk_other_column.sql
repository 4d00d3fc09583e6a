-- case: moving the primary key to another column makes it unique there, refusing a duplicate the old code could write
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
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC114:error PG107:error PG202:info
