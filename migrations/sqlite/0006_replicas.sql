-- deskbridge adapter store, SQLite schema version 6: the replicas sharing the database and
-- work that one of them does at a time. With SQLite there is normally one adapter, but two
-- processes can share a file (a restart overlapping the old process), and the engine treats
-- both backends alike.

-- Each replica's heartbeat: the others divide every site's concurrency and rate limit by the
-- number alive. Times are milliseconds since the epoch, UTC.
CREATE TABLE replicas (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    version      TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

-- Work one replica at a time does (each schedule): the holder renews its lease; when it dies
-- the lease expires and another takes over.
CREATE TABLE singleton_leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
