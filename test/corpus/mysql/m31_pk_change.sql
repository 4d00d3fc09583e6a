-- case: changing the primary key breaks upserts of the running release; MariaDB rebuilds it online (INPLACE)
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
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id, name);
-- down:
ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id);
-- expect: backwardCompatible=false blocking=false algorithm=INPLACE strategy=in-place
-- expect-rules: BC114:error RF112:info MY201:warning
