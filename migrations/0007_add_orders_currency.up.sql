-- migrate:phase pre-deploy
-- Expand for release 3 of the demo app, which records each order's currency. Nullable and
-- added at the end: the release still running inserts orders without it, and MariaDB adds
-- such a column instantly (no table copy, no write block).
ALTER TABLE orders ADD COLUMN currency CHAR(3) NULL;
