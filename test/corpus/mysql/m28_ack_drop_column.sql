-- case: an acknowledged drop in a pre-deploy migration passes the compatibility check
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
ALTER TABLE users DROP COLUMN age;
-- down:
ALTER TABLE users ADD COLUMN age INT;
-- phase: pre-deploy
-- known-disagreement: phase measured=post-deploy engine=pre-deploy by design: the declared phase is the user's word on which release the migration waits for, and the engine takes it; the policy on the servers' answers alone says post-deploy: the old statements derived from the schema name age, which the drop takes away (error 1054); the acknowledgement says the running release no longer does
-- ack: BC102 age is unused since release 41
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: BC102:error:ack DL102:warning MY202:info RF113:info
-- known-disagreement: backwardCompatible measured=false engine=true by design: the acknowledgement is the user's word that the running release no longer reads the column; the old statements derived from the schema still name it
