-- case: recreating an enum type under its name without a value no row holds is no data loss (counted on the shadow)
-- setup:
CREATE TYPE order_status AS ENUM ('new', 'paid', 'void');
CREATE TABLE orders (id int PRIMARY KEY, status order_status NOT NULL, note varchar(40));
INSERT INTO orders (id, status, note) VALUES (2000001, 'paid', 'a'), (2000002, 'new', 'b');
-- up:
ALTER TYPE order_status RENAME TO order_status_old;
CREATE TYPE order_status AS ENUM ('new', 'paid');
ALTER TABLE orders ALTER COLUMN status TYPE order_status USING status::text::order_status;
DROP TYPE order_status_old;
-- down:
ALTER TYPE order_status RENAME TO order_status_new;
CREATE TYPE order_status AS ENUM ('new', 'paid', 'void');
ALTER TABLE orders ALTER COLUMN status TYPE order_status USING status::text::order_status;
DROP TYPE order_status_new;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: BC112:info DL107:info PG104:error PG202:info
