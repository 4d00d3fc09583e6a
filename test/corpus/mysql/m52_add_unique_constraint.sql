-- case: ADD CONSTRAINT UNIQUE rejects a duplicate the old code could write
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
ALTER TABLE users ADD CONSTRAINT uq_users_name UNIQUE (name);
-- down:
ALTER TABLE users DROP INDEX uq_users_name;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: BC109:error MY202:info RF110:info
