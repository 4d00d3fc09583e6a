-- case: cutting a DECIMAL's precision where every stored price fits is no data loss
-- setup:
CREATE TABLE products (id INT PRIMARY KEY, price DECIMAL(10,2) NOT NULL);
INSERT INTO products (id, price) VALUES (2000001, 19.99), (2000002, 1234.50);
-- up:
ALTER TABLE products MODIFY price DECIMAL(6,2) NOT NULL;
-- down:
ALTER TABLE products MODIFY price DECIMAL(10,2) NOT NULL;
-- expect: phase=post-deploy backwardCompatible=false reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=false replicaFirstReverseSafe=false strategy=refused algorithm=COPY
-- findings: BC105:info DL107:info MY101:error RF105:error RF204:warning
