-- cogman task log, version 6: dead letters (the DeadLetterStore ability). Each entry is kept
-- whole as JSON text (JSON escapes every byte PostgreSQL text cannot hold); dedupe_key makes
-- storing an entry collected twice (RabbitMQ redelivered it before the ack) idempotent.
CREATE TABLE dead_letters (
    id               bigserial PRIMARY KEY,
    dedupe_key       text UNIQUE,
    dead_lettered_at timestamptz NOT NULL,
    entry            text NOT NULL
);
