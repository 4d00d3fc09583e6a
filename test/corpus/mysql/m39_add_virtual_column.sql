-- case: a virtual generated column at the end is instant and compatible
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
ALTER TABLE users ADD COLUMN name_length INT AS (CHAR_LENGTH(name)) VIRTUAL;
-- down:
ALTER TABLE users DROP COLUMN name_length;
-- expect: backwardCompatible=true reversible=true blocking=false algorithm=INSTANT replicaFirstSafe=true strategy=in-place
-- expect-rules: MY202:info
-- expect-no-rules: BC107 RV201
