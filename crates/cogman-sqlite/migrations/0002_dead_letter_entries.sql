-- Dead letters collected from other brokers (RabbitMQ's dead-letter queue) and stored through
-- the DeadLetterStore ability: the whole entry as JSON, and the key that makes storing it
-- idempotent. Rows the embedded queue moves aside keep `entry` NULL and are read from their
-- other columns.
ALTER TABLE dead_letters ADD COLUMN dedupe_key TEXT;
ALTER TABLE dead_letters ADD COLUMN entry TEXT;
CREATE UNIQUE INDEX dead_letters_by_key ON dead_letters (dedupe_key) WHERE dedupe_key IS NOT NULL;
