-- case: with the old code's queries: moving the primary key breaks none of them when they only read the table
-- queries: SELECT id, name, email FROM users WHERE email = 'email1'
-- queries: SELECT COUNT(*) FROM users
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
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC114:warning MY201:warning RF112:info RF212:info
