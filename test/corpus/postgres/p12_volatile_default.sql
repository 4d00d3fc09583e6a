-- case: a volatile default rewrites the table
-- setup:
CREATE TABLE users (
  id serial PRIMARY KEY,
  name varchar(50) NOT NULL,
  email varchar(100),
  age int
);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2));
-- up:
ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
-- down:
ALTER TABLE users DROP COLUMN token;
-- expect: blocking=true strategy=refused backwardCompatible=true
-- expect-rules: PG106:error
