-- case: INT to SMALLINT clips a stored value out of range (ALTER IGNORE)
-- setup:
CREATE TABLE stock (id INT PRIMARY KEY, qty INT NOT NULL);
INSERT INTO stock (id, qty) VALUES (2000001, 12), (2000002, 70000);
-- up:
ALTER IGNORE TABLE stock MODIFY qty SMALLINT NOT NULL;
-- down:
ALTER TABLE stock MODIFY qty INT NOT NULL;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=true blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL103:error MY101:error RF105:error RF204:warning
