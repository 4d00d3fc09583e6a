-- migrate:phase post-deploy
-- Contract: only once every app server writes email. Runs after the code deploy.
UPDATE users SET email = CONCAT('user-', id, '@invalid.example') WHERE email IS NULL;
ALTER TABLE users MODIFY email VARCHAR(255) NOT NULL;
