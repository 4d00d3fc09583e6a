-- case: converting a utf8mb4 column to latin1 narrows it and copies the table
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
ALTER TABLE users MODIFY name VARCHAR(50) CHARACTER SET latin1 NOT NULL;
-- down:
ALTER TABLE users MODIFY name VARCHAR(50) CHARACTER SET utf8mb4 NOT NULL;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:warning MY101:error RF106:error RF206:warning
