-- case: changing numeric to int rounds to whole numbers; every old statement still runs
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  price numeric(10,2)
);
-- up:
ALTER TABLE users ALTER COLUMN price TYPE int;
-- down:
ALTER TABLE users ALTER COLUMN price TYPE numeric(10,2);
