-- case: BIGINT to INT where every stored value is in range is no data loss
-- setup:
CREATE TABLE events (id INT PRIMARY KEY, counter BIGINT NOT NULL, note VARCHAR(40));
INSERT INTO events (id, counter, note) VALUES (2000001, 42, 'small'), (2000002, -7, 'negative');
-- up:
ALTER TABLE events MODIFY counter INT NOT NULL;
-- down:
ALTER TABLE events MODIFY counter BIGINT NOT NULL;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:info MY101:error RF105:error RF204:warning
