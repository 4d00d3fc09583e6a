-- case: cutting DECIMAL integer digits refuses the largest values the old code writes
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  price DECIMAL(10,2)
);
-- up:
ALTER TABLE users MODIFY price DECIMAL(6,2);
-- down:
ALTER TABLE users MODIFY price DECIMAL(10,2);
