-- case: reducing a DECIMAL scale rounds stored values
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
ALTER TABLE users MODIFY price DECIMAL(10,1);
-- down:
ALTER TABLE users MODIFY price DECIMAL(10,2);
-- expect: phase=post-deploy dataLoss=true blocking=true
-- expect-rules: BC105 DL103 MY101
