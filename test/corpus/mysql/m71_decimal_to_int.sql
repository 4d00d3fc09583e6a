-- case: changing DECIMAL to INT rounds to whole numbers; every old statement still runs
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  price DECIMAL(10,2)
);
-- up:
ALTER TABLE users MODIFY price INT;
-- down:
ALTER TABLE users MODIFY price DECIMAL(10,2);
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC106:warning DL104:error MY101:error RF106:error RF206:warning RV202:warning
-- known-disagreement: phase measured=post-deploy engine=pre-deploy a type-family change (BC106) does not force post-deploy in the engine; the servers show the old code's writes stored as other values after the up (101.55 written, 102 stored), which the phase policy counts as a contract: the old release relies on the old type
