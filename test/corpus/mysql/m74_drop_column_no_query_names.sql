-- case: with the old code's queries: a column none of them names may be dropped
-- queries: SELECT id, name, email FROM users WHERE id = 1
-- queries: INSERT INTO users (name, email) VALUES ('ann', 'ann@example.com')
-- queries: UPDATE users SET name = 'bob' WHERE id = 1
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  legacy_note TEXT
);
-- up:
ALTER TABLE users DROP COLUMN legacy_note;
-- down:
ALTER TABLE users ADD COLUMN legacy_note TEXT;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: BC102:info DL102:warning MY202:info RF113:info
-- known-disagreement: phase measured=pre-deploy engine=post-deploy the engine infers the phase from the change (BC102 forces post-deploy) even when the case's -- queries, the old code, do not use what it removes; every one of them runs after the up unchanged, so by the phase policy the migration need not wait for the new release (it is safe in either phase)
