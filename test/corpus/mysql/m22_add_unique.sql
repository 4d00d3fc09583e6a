-- case: a unique index is data-dependent for the running release and for replicas
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
CREATE UNIQUE INDEX uq_email ON users (email);
-- down:
DROP INDEX uq_email ON users;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: BC109:error MY202:info RF110:info
