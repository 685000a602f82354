-- A request is identified by its agency and its request_id (contract §2): each stored
-- request remembers the agency that sent it, so its answer is replayed to that agency
-- only. NULL for requests stored before this migration.
ALTER TABLE requests ADD COLUMN agency VARCHAR;
