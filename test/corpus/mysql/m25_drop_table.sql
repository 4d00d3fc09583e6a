-- case: dropping a table is a contract step that loses data
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
CREATE TABLE audit (id INT PRIMARY KEY, note TEXT);
-- up:
DROP TABLE audit;
-- down:
CREATE TABLE audit (id INT PRIMARY KEY, note TEXT);
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=in-place algorithm=null
-- findings: BC101:info DL101:warning
