-- case: a new CHECK is data-dependent for old writes
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
ALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0);
-- down:
ALTER TABLE users DROP CONSTRAINT chk_age;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=refused algorithm=COPY
-- findings: BC110:error MY101:warning RF110:warning
-- known-disagreement: replicaFirstSafe measured=false engine=true issue 18: the old code's negative age replicates into the replica past its new CHECK (row events skip it), and the primary's own ALTER then fails on that row. The engine's RF rules judge the row format only; the refused write is BC110 (backwardCompatible=false)
-- known-disagreement: strategy measured=refused engine=replica-first issue 18: follows from replicaFirstSafe measured false (blocking and not replica-first safe: refused); the engine plans replica-first on its row-format answer
