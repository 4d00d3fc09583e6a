-- case: CREATE INDEX naming the table in mixed case (unquoted, so it is table posts) blocks writes (issue 15 B2)
-- setup:
CREATE TABLE posts (
  id bigint PRIMARY KEY,
  originalid varchar(26),
  message text
);
-- up:
CREATE INDEX idx_posts_originalid ON Posts (OriginalId);
-- down:
DROP INDEX idx_posts_originalid;
-- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=true
-- expect: replicaFirstSafe=null replicaFirstReverseSafe=null strategy=refused algorithm=null
-- findings: PG101:error
