-- case: an ALTER run through PREPARE/EXECUTE behind an information_schema guard is probed like a written one (issue 15 B1)
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  timezone VARCHAR(64)
);
-- up:
SET @stmt = (SELECT IF(
  (SELECT COUNT(*) FROM information_schema.columns
   WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'timezone' AND data_type = 'varchar') > 0,
  'ALTER TABLE users MODIFY timezone TEXT',
  'SELECT 1'
));
PREPARE alterIfExists FROM @stmt;
EXECUTE alterIfExists;
DEALLOCATE PREPARE alterIfExists;
-- down:
ALTER TABLE users MODIFY timezone VARCHAR(64);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=replica-first algorithm=COPY
-- findings: MY101:warning RF104:warning RF205:warning RV202:warning
