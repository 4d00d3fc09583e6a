-- case: INT -> BIGINT copies the table; replica-first with ALL_NON_LOSSY
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
ALTER TABLE users MODIFY age BIGINT;
-- down:
ALTER TABLE users MODIFY age INT;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=replica-first algorithm=COPY
-- findings: MY101:warning RF104:warning RF205:warning RV202:warning
