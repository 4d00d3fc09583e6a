-- case: a foreign key on a new column copies the table but breaks no old write
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
ALTER TABLE users ADD COLUMN manager_id INT NULL, ADD CONSTRAINT fk_users_manager FOREIGN KEY (manager_id) REFERENCES users (id);
-- down:
ALTER TABLE users DROP FOREIGN KEY fk_users_manager, DROP INDEX fk_users_manager, DROP COLUMN manager_id;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=replica-first algorithm=COPY
-- findings: MY101:warning RF110:warning RV201:warning
