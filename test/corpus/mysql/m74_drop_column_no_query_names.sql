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
-- expect: phase=post-deploy backwardCompatible=true reversible=true dataLoss=true blocking=false
-- expect: replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
-- findings: BC102:info DL102:warning MY202:info RF113:info
