-- case: an enum value added BEFORE another changes sort order
-- setup:
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE people (id int PRIMARY KEY, m mood);
-- up:
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
-- expect: blocking=false backwardCompatible=true
-- expect-rules: BC113:warning
-- expect-no-rules: BC112
