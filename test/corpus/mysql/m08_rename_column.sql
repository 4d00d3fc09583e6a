-- case: a column rename breaks the running release; replication is positional so it is replica-first safe
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
ALTER TABLE users RENAME COLUMN email TO mail;
-- down:
ALTER TABLE users RENAME COLUMN mail TO email;
-- expect: phase=post-deploy backwardCompatible=false dataLoss=false reversible=true blocking=false replicaFirstSafe=true
-- expect-rules: BC104:info
-- expect-no-rules: BC102 DL102
