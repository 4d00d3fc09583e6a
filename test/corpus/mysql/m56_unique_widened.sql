-- case: a unique key over more columns than an existing one rejects nothing new
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
CREATE UNIQUE INDEX uq_email ON users (email);
-- up:
CREATE UNIQUE INDEX uq_email_name ON users (email, name);
-- down:
DROP INDEX uq_email_name ON users;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: MY202:info RF110:info
