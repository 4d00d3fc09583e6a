-- case: changing DATETIME to DATE drops the time of day; every old statement still runs
-- setup:
CREATE TABLE users (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(50) NOT NULL,
  email VARCHAR(100),
  created_at DATETIME
);
-- up:
ALTER TABLE users MODIFY created_at DATE;
-- down:
ALTER TABLE users MODIFY created_at DATETIME;
