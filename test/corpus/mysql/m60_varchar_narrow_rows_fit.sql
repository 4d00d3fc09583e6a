-- case: narrowing VARCHAR where every stored row fits is no data loss (counted on the shadow)
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
INSERT INTO users (id, name, email, status, price, age) VALUES (2000001, 'Ada', 'ada@example.org', 'active', 10.50, 36), (2000002, 'Bo', NULL, 'new', NULL, NULL);
-- up:
ALTER TABLE users MODIFY email VARCHAR(30);
-- down:
ALTER TABLE users MODIFY email VARCHAR(100);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:info MY101:error RF105:error RF204:warning
