-- case: ALTER IGNORE removing an ENUM value a stored row holds empties that row's value
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
INSERT INTO users (id, name, email, status, price, age) VALUES (2000001, 'Ada', 'ada@example.org', 'closed', 10.50, 36), (2000002, 'Bo', NULL, 'new', NULL, NULL);
-- up:
ALTER IGNORE TABLE users MODIFY status ENUM('new','active') NOT NULL DEFAULT 'new';
-- down:
ALTER TABLE users MODIFY status ENUM('new','active','closed') NOT NULL DEFAULT 'new';
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=refused algorithm=COPY
-- findings: BC112:info DL105:warning MY101:error RF107:error
