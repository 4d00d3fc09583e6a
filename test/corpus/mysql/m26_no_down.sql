-- case: a migration without down is not reversible
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
ALTER TABLE users ADD COLUMN nickname VARCHAR(30);
-- expect: phase=pre-deploy backwardCompatible=true reversible=false dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: MY202:info RF113:info RV101:error
