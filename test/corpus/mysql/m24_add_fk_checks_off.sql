-- case: the same foreign key with foreign_key_checks=0 is in place
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
SET foreign_key_checks = 0;
ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id);
SET foreign_key_checks = 1;
-- down:
ALTER TABLE orders DROP FOREIGN KEY fk_orders_user;
ALTER TABLE orders DROP INDEX fk_orders_user;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: BC111:error MY202:info RF115:info
