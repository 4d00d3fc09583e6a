-- case: a nullable column at the end is INSTANT and replica-first safe both ways
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
ALTER TABLE users ADD COLUMN nickname VARCHAR(30);
-- down:
ALTER TABLE users DROP COLUMN nickname;
-- expect: backwardCompatible=true blocking=false algorithm=INSTANT replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place
-- expect-rules: MY202
-- expect-no-rules: RF101
