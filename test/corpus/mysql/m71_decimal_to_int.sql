-- case: changing DECIMAL to INT rounds to whole numbers; every old statement still runs
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  price DECIMAL(10,2)
);
-- up:
ALTER TABLE users MODIFY price INT;
-- down:
ALTER TABLE users MODIFY price DECIMAL(10,2);
