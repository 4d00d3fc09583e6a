-- case: TEXT to VARCHAR where every stored text fits is no data loss
-- setup:
CREATE TABLE notes (id INT PRIMARY KEY, body TEXT);
INSERT INTO notes (id, body) VALUES (2000001, 'short note'), (2000002, NULL);
-- up:
ALTER TABLE notes MODIFY body VARCHAR(200);
-- down:
ALTER TABLE notes MODIFY body TEXT;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:info MY101:error RF105:error RF204:warning
