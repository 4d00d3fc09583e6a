-- migrate:phase pre-deploy
-- Expand: nullable and added at the end, so the code still running can ignore it, and a
-- replica-first ALTER keeps replication working (extra trailing column with a default).
ALTER TABLE users ADD COLUMN email VARCHAR(255) NULL;

CREATE INDEX users_email_idx ON users (email);
