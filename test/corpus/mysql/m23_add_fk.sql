-- case: a foreign key with foreign_key_checks=1 copies the table
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
CREATE TABLE orders (id INT PRIMARY KEY, user_id INT);
-- up:
ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id);
-- down:
ALTER TABLE orders DROP FOREIGN KEY fk_orders_user;
ALTER TABLE orders DROP INDEX fk_orders_user;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=refused algorithm=COPY
-- findings: BC111:error MY101:error RF115:error
