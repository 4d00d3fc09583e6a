-- case: an UPDATE without WHERE locks every row
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
UPDATE users SET age = 0;
-- down:
UPDATE users SET age = NULL;
-- expect: blocking=false dataLoss=false strategy=in-place
-- expect-rules: MY301:warning
