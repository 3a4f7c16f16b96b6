-- cogman task log, version 5: the outbox measures a task's age by the server's clock.
--
-- claim_unpublished used to compare created_at, written by the sending client's clock, with a
-- cutoff from the claiming client's clock: a sender whose clock ran behind made its tasks look
-- old while it was still publishing them (another client could publish them a second time),
-- and one whose clock ran ahead delayed their re-enqueue by the skew. recorded_at is set by
-- the server when the row is inserted (the transaction's start time); rows that exist when
-- this runs get the migration's time, so they wait one more grace period at most.
ALTER TABLE tasks ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();
