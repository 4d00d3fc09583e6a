-- case: cutting DECIMAL integer digits refuses the largest values the old code writes
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  price DECIMAL(10,2)
);
-- up:
ALTER TABLE users MODIFY price DECIMAL(6,2);
-- down:
ALTER TABLE users MODIFY price DECIMAL(10,2);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:warning MY101:error RF105:error RF204:warning
