-- case: CHANGE old new TYPE is a rename plus a widening
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
ALTER TABLE users CHANGE email mail VARCHAR(200);
-- down:
ALTER TABLE users CHANGE mail email VARCHAR(100);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=in-place algorithm=INSTANT
-- findings: BC104:info BC204:warning MY202:info RF104:info RF205:info RV202:warning
