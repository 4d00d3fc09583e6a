-- case: widening VARCHAR inside its length class is INSTANT
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
ALTER TABLE users MODIFY name VARCHAR(60) NOT NULL;
-- down:
ALTER TABLE users MODIFY name VARCHAR(50) NOT NULL;
-- expect: backwardCompatible=true dataLoss=false blocking=false algorithm=INSTANT strategy=in-place
-- expect-rules: RF104:info
-- expect-no-rules: BC105
