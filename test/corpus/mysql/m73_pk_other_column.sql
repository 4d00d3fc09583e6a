-- case: moving the primary key to another column makes it unique there, refusing a duplicate the old code could write
-- setup:
CREATE TABLE users (
  id INT NOT NULL,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100) NOT NULL,
  PRIMARY KEY (id)
);
-- up:
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (email);
-- down:
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id);
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC114:error MY201:warning RF112:info RF212:info
