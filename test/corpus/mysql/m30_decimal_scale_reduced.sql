-- case: reducing a DECIMAL scale rounds stored values
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
ALTER TABLE users MODIFY price DECIMAL(10,1);
-- down:
ALTER TABLE users MODIFY price DECIMAL(10,2);
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL103:error MY101:error RF105:error RF205:warning RV202:warning
