-- case: removing the default of a NOT NULL column breaks INSERTs that omit it
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
ALTER TABLE users ALTER COLUMN status DROP DEFAULT;
-- down:
ALTER TABLE users ALTER COLUMN status SET DEFAULT 'new';
-- expect: backwardCompatible=false blocking=false
-- expect-rules: BC115:error
