-- migrate:phase post-deploy
-- Contract: every order has a currency. Only once no server of an older release is left (their
-- INSERT names no currency and would fail from here on), so it runs after the deploy is verified.
UPDATE orders SET currency = 'EUR' WHERE currency IS NULL;
ALTER TABLE orders MODIFY currency CHAR(3) NOT NULL;
