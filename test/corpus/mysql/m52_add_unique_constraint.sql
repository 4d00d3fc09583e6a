-- case: ADD CONSTRAINT UNIQUE rejects a duplicate the old code could write
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
ALTER TABLE users ADD CONSTRAINT uq_users_name UNIQUE (name);
-- down:
ALTER TABLE users DROP INDEX uq_users_name;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: BC109:error MY202:info RF110:info
-- known-disagreement: replicaFirstSafe measured=false engine=true issue 18: the old code writes a row the new key refuses (a copy of row 1 / an UPDATE giving rows the same value): replicated to a replica that already has the key, it stops replication (error 1062). The engine's RF rules judge the row format only; the refused write itself is the BC finding (backwardCompatible=false)
