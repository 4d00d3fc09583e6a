-- case: a no-op ENGINE=InnoDB rebuilds the table in place
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
ALTER TABLE users ENGINE=InnoDB;
-- down:
ALTER TABLE users ENGINE=InnoDB;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INPLACE
-- findings: MY201:warning RF113:info
