-- case: a foreign key with ON DELETE CASCADE still rejects an orphan child the old code writes
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(10,2));
-- up:
SET foreign_key_checks = 0;
ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
SET foreign_key_checks = 1;
-- down:
ALTER TABLE orders DROP FOREIGN KEY fk_orders_user;
ALTER TABLE orders DROP INDEX fk_orders_user;
-- expect: phase=pre-deploy backwardCompatible=false reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=true strategy=in-place algorithm=NOCOPY
-- findings: BC111:error MY202:info RF115:info
