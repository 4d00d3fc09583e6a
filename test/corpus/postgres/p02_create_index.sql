-- case: CREATE INDEX without CONCURRENTLY blocks writes
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
CREATE INDEX orders_user_idx ON orders (user_id);
-- down:
DROP INDEX orders_user_idx;
-- expect: blocking=true strategy=refused replicaFirstSafe=null
-- expect-rules: PG101:error
