-- cogman embedded store, schema version 6: a queue row remembers how long its task has waited
-- for a worker with a handler for its name (DeliveryHandle::defer).
ALTER TABLE queue ADD COLUMN handler_waits INTEGER NOT NULL DEFAULT 0;  -- times deferred
ALTER TABLE queue ADD COLUMN waiting_since INTEGER;                     -- first deferral (ns)
