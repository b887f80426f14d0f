-- deskbridge adapter store, SQLite schema version 1.
-- Times are INTEGER milliseconds since the Unix epoch (UTC): they sort and compare as numbers,
-- which TEXT timestamps only do when every writer formats them identically.
-- UUIDs are TEXT (hyphenated) so the database stays readable with the sqlite3 shell.
-- JSON columns are TEXT holding serde_json output.

CREATE TABLE api_clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'helpdesk', 'admin')),
    -- argon2id PHC string; the secret itself is never stored.
    secret_hash TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- One row: the key that signs stateless access tokens, shared by every replica.
CREATE TABLE signing_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key        BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    actor_id        TEXT,
    actor_name      TEXT NOT NULL,
    action          TEXT NOT NULL,
    targets         TEXT NOT NULL,
    ticket_instance TEXT,
    ticket_number   TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied', 'succeeded', 'failed')),
    message         TEXT,
    request_id      TEXT
);
CREATE INDEX audit_log_actor ON audit_log (actor_name, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_at ON audit_log (at);
-- Append-only is enforced by the database too, not only by the absence of an API.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    action          TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    ticket_instance TEXT,
    ticket_number   TEXT,
    params          TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    state           TEXT NOT NULL CHECK (state IN
                        ('queued', 'running', 'succeeded', 'failed', 'partially_failed', 'cancelled')),
    -- Progress counters, recomputed from the tasks in the same transaction as every task change.
    total           INTEGER NOT NULL,
    queued          INTEGER NOT NULL,
    running         INTEGER NOT NULL,
    succeeded       INTEGER NOT NULL,
    failed          INTEGER NOT NULL,
    cancelled       INTEGER NOT NULL,
    -- Set by cancel: workers holding running tasks of this job cancel them at the site.
    cancel_requested_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((ticket_instance IS NULL) = (ticket_number IS NULL))
);
-- A ticket runs a given action once: the guard behind "same ticket and action never executes twice".
CREATE UNIQUE INDEX jobs_ticket_action ON jobs (ticket_instance, ticket_number, action)
    WHERE ticket_number IS NOT NULL;
CREATE INDEX jobs_created ON jobs (created_at, id);

CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           TEXT NOT NULL REFERENCES jobs (id),
    site             TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    percent          INTEGER NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
    result           TEXT,
    error            TEXT,
    external_job_id  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (job_id, site, target_id)
);
CREATE INDEX tasks_job ON tasks (job_id, id);
-- Serves claim_tasks: due queued tasks of one site, and running tasks whose lease expired.
CREATE INDEX tasks_claim ON tasks (site, state, next_attempt_at);
CREATE INDEX tasks_lease ON tasks (state, lease_expires_at);

CREATE TABLE task_attempts (
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    number     INTEGER NOT NULL,
    owner      TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    outcome    TEXT CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
    error      TEXT,
    PRIMARY KEY (task_id, number)
);

CREATE TABLE events (
    -- AUTOINCREMENT: an id is never reused, even after the newest rows are pruned, so a
    -- client's Last-Event-ID can never point at a different event.
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('job', 'task', 'inventory', 'ticket', 'site')),
    subject TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);

-- Highest event id ever pruned: a client resuming from an id below it missed events.
CREATE TABLE event_horizon (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_through INTEGER NOT NULL
);
INSERT INTO event_horizon (id, pruned_through) VALUES (1, 0);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance         TEXT NOT NULL,
    table_name       TEXT NOT NULL,
    sys_id           TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    delivered_at     INTEGER,
    -- Set when a write is abandoned (permanent error, conflict): it stops blocking its ticket.
    abandoned_at     INTEGER,
    last_error       TEXT
);
CREATE INDEX outbox_pending ON outbox (instance, sys_id, id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;
