-- case: SET NOT NULL after a validated IS NOT NULL check skips the scan
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;
-- up:
SET lock_timeout = '2s';
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
-- down:
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
-- phase: post-deploy
-- known-disagreement: phase measured=pre-deploy engine=post-deploy by design: the declared phase is the user's word on which release the migration waits for, and the engine takes it; the policy on the servers' answers alone says pre-deploy: every old statement still runs (the validated CHECK already refused NULL emails) and nothing the running release uses is taken away
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC108:info
