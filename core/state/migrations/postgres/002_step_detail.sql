-- A step's outcome in words, beyond its row count: for a publish, the
-- diff sent and how many records were refused and dead-lettered.
ALTER TABLE steps ADD COLUMN detail TEXT NOT NULL DEFAULT '';
