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
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: BC104:info BC204:warning MY202:info RF113:info
