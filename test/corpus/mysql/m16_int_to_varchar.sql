-- case: a type-family change stops row-based replication: refused
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
ALTER TABLE users MODIFY age VARCHAR(20);
-- down:
ALTER TABLE users MODIFY age INT;
-- expect: phase=pre-deploy backwardCompatible=true dataLoss=false blocking=true replicaFirstSafe=false strategy=refused
-- expect-rules: BC106:warning RF106:error
-- expect-no-rules: DL104
