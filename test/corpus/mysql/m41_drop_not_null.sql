-- case: relaxing NOT NULL is compatible but the old side gets NULLs in the hold period
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
ALTER TABLE users MODIFY name VARCHAR(50) NULL;
-- down:
ALTER TABLE users MODIFY name VARCHAR(50) NOT NULL;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=false strategy=in-place algorithm=INPLACE
-- findings: MY201:warning RF208:info
