-- case: with the old code's queries: narrowing a column they only read breaks none of them
-- queries: SELECT id, name, email FROM users WHERE id = 1
-- queries: INSERT INTO users (name) VALUES ('ann')
-- queries: UPDATE users SET name = 'bob' WHERE id = 1
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  legacy_note TEXT
);
-- up:
ALTER TABLE users MODIFY email VARCHAR(50);
-- down:
ALTER TABLE users MODIFY email VARCHAR(100);
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:warning MY101:error RF105:error RF204:warning
-- known-disagreement: phase measured=pre-deploy engine=post-deploy the engine infers the phase from the change (BC105 forces post-deploy) even when the case's -- queries, the old code, do not use what it removes; every one of them runs after the up unchanged, so by the phase policy the migration need not wait for the new release (it is safe in either phase)
