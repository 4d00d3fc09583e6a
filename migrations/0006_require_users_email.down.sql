-- Old code that does not write email must work again after a rollback.
ALTER TABLE users MODIFY email VARCHAR(255) NULL;
