-- case: a FULLTEXT index cannot be built with LOCK=NONE, so it blocks writes (the server says so)
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT,
  bio TEXT
);
-- up:
ALTER TABLE users ADD FULLTEXT INDEX ft_bio (bio);
-- down:
ALTER TABLE users DROP INDEX ft_bio;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=replica-first algorithm=COPY
-- findings: MY101:warning RF113:info
