-- case: narrowing VARCHAR truncates, copies, and cannot go replica-first
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
ALTER TABLE users MODIFY email VARCHAR(20);
-- down:
ALTER TABLE users MODIFY email VARCHAR(100);
-- expect: phase=post-deploy backwardCompatible=false dataLoss=true blocking=true algorithm=COPY replicaFirstSafe=false strategy=refused
-- expect-rules: BC105 DL103 RF105:error MY101:error
