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
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=replica-first algorithm=COPY
-- findings: BC110:error MY101:warning RF110:warning
