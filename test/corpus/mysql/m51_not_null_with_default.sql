-- case: a column with a default made NOT NULL still refuses the old code's explicit NULL
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  age INT DEFAULT 0
);
-- up:
ALTER TABLE users MODIFY age INT NOT NULL DEFAULT 0;
-- down:
ALTER TABLE users MODIFY age INT DEFAULT 0;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC108:error MY201:warning RF108:info
