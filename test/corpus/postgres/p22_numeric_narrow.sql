-- case: narrowing numeric scale rounds values and rewrites
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,1);
-- down:
ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2);
-- expect: dataLoss=true blocking=true
-- expect-rules: DL103 PG104
