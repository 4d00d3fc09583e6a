-- case: TRUNCATE in a migration deletes every row
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
TRUNCATE TABLE users;
-- down:
SELECT 1;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: DL106:warning
