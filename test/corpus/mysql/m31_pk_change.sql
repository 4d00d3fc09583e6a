-- case: changing the primary key breaks upserts of the running release; MariaDB rebuilds it online (INPLACE)
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
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id, name);
-- down:
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: BC114:warning MY201:warning RF112:info RF212:info
