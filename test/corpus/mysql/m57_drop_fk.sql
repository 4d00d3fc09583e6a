-- case: dropping a foreign key is compatible; during the hold period the old side still checks it
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  price DECIMAL(10,2),
  age INT
);
CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(10,2), CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id));
-- up:
ALTER TABLE orders DROP FOREIGN KEY fk_orders_user;
-- down:
ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=false strategy=in-place algorithm=INSTANT
-- findings: MY202:info RF215:info
