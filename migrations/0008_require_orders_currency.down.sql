-- Release 2, which writes no currency, must work again after a rollback.
ALTER TABLE orders MODIFY currency CHAR(3) NULL;
