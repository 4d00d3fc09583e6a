-- migrate:phase pre-deploy
-- INT -> BIGINT: the new code stores totals above 2^31 cents. MariaDB rebuilds the table for
-- this (ALGORITHM=COPY, writes blocked for the whole copy), so the gate plans it replica-first:
-- replicas first with binary logging off, then a switchover of a few tens of milliseconds.
ALTER TABLE orders MODIFY total_cents BIGINT NOT NULL;
