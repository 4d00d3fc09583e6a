-- case: ALTER IGNORE narrowing a VARCHAR truncates a stored row that does not fit
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
INSERT INTO users (id, name, email, status, price, age) VALUES (2000001, 'Ada', 'ada.lovelace.countess@analytical-engine.example.org', 'active', 10.50, 36), (2000002, 'Bo', 'bo@example.org', 'new', NULL, NULL);
-- up:
ALTER IGNORE TABLE users MODIFY email VARCHAR(30);
-- down:
ALTER TABLE users MODIFY email VARCHAR(100);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL103:error MY101:error RF105:error RF204:warning
