-- case: a rename declared pre-deploy fails the compatibility check
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
-- up:
ALTER TABLE users RENAME COLUMN email TO mail;
-- down:
ALTER TABLE users RENAME COLUMN mail TO email;
-- phase: pre-deploy
-- known-disagreement: phase measured=post-deploy engine=pre-deploy by design: the declared phase is the user's word on which release the migration waits for, and the engine takes it; the policy on the servers' answers alone says post-deploy: the old statements derived from the schema name email, which the rename takes away (error 1054)
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: BC104:error MY202:info RF113:info
