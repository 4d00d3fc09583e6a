-- case: adding an enum value cannot be undone by a down
-- setup:
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE people (id int PRIMARY KEY, m mood);
-- up:
ALTER TYPE mood ADD VALUE 'happy';
-- expect: blocking=false backwardCompatible=true reversible=false
-- expect-rules: RV101
-- expect-no-rules: BC112 BC113
