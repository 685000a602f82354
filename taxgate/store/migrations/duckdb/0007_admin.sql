-- Administration: each load remembers the sha256 of the file it came from and the
-- file's name, so loading the same file twice is refused unless forced. NULL for
-- loads stored before this migration.
ALTER TABLE loads ADD COLUMN sha256 VARCHAR;
ALTER TABLE loads ADD COLUMN source VARCHAR;
