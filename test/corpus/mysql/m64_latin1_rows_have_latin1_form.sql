-- case: converting to latin1 where every stored name has a latin1 form is no data loss
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
INSERT INTO users (id, name, email, status, price, age) VALUES (2000001, 'Zoë Müller', 'zoe@example.org', 'active', 10.50, 36), (2000002, 'José', NULL, 'new', NULL, NULL);
-- up:
ALTER TABLE users MODIFY name VARCHAR(50) CHARACTER SET latin1 NOT NULL;
-- down:
ALTER TABLE users MODIFY name VARCHAR(50) CHARACTER SET utf8mb4 NOT NULL;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:info MY101:error RF106:error RF206:warning
