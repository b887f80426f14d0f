-- deskbridge adapter store, PostgreSQL schema version 1: the same tables as SQLite's
-- versions 1 to 5, for several adapter replicas sharing one database.
--
-- Times are timestamptz. Every time that replicas compare (leases, due times) is taken from
-- the database's clock (now()), never from a replica's, so clock skew between adapter hosts
-- cannot make a live lease look expired. UUIDs are uuid, JSON is jsonb, and every integer is
-- bigint so one row decoder serves both backends.

CREATE TABLE api_clients (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('viewer', 'helpdesk', 'admin')),
    -- argon2id PHC string; the secret itself is never stored.
    secret_hash text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- One row: the key that signs stateless access tokens, shared by every replica, so a token
-- issued by one is accepted by all.
CREATE TABLE signing_key (
    id         bigint PRIMARY KEY CHECK (id = 1),
    key        bytea NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor_id        uuid,
    actor_name      text NOT NULL,
    action          text NOT NULL,
    targets         jsonb NOT NULL,
    ticket_instance text,
    ticket_number   text,
    outcome         text NOT NULL CHECK (outcome IN ('allowed', 'denied', 'succeeded', 'failed')),
    message         text,
    request_id      text
);
CREATE INDEX audit_log_actor ON audit_log (actor_name, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_at ON audit_log (at);

-- Append-only is enforced by the database too, not only by the absence of an API.
CREATE FUNCTION deskbridge_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION deskbridge_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION deskbridge_append_only();

CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    action          text NOT NULL,
    requested_by    text NOT NULL,
    ticket_instance text,
    ticket_number   text,
    params          jsonb NOT NULL,
    idempotency_key text UNIQUE,
    state           text NOT NULL CHECK (state IN
                        ('queued', 'running', 'succeeded', 'failed', 'partially_failed', 'cancelled')),
    -- Progress counters, recomputed from the tasks in the same transaction as every task change.
    total           bigint NOT NULL,
    queued          bigint NOT NULL,
    running         bigint NOT NULL,
    succeeded       bigint NOT NULL,
    failed          bigint NOT NULL,
    cancelled       bigint NOT NULL,
    -- Set by cancel: workers holding running tasks of this job cancel them at the site.
    cancel_requested_at timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- What the adapter has told the job's ticket so far (see SQLite's version 3).
    ticket_phase    text NOT NULL DEFAULT 'none' CHECK (ticket_phase IN
                        ('none', 'started', 'succeeded', 'failed', 'partially_failed', 'cancelled')),
    ticket_status   text,
    CHECK ((ticket_instance IS NULL) = (ticket_number IS NULL))
);
-- A ticket runs a given action once: the guard behind "same ticket and action never executes
-- twice", whichever replica the requests reach.
CREATE UNIQUE INDEX jobs_ticket_action ON jobs (ticket_instance, ticket_number, action)
    WHERE ticket_number IS NOT NULL;
CREATE INDEX jobs_created ON jobs (created_at, id);
CREATE INDEX jobs_ticket_lag ON jobs (updated_at) WHERE ticket_number IS NOT NULL;

CREATE TABLE tasks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id           uuid NOT NULL REFERENCES jobs (id),
    site             text NOT NULL,
    target_id        text NOT NULL,
    display_name     text NOT NULL,
    state            text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         bigint NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    percent          bigint NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
    result           text,
    error            text,
    external_job_id  text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (job_id, site, target_id)
);
CREATE INDEX tasks_job ON tasks (job_id, id);
-- Serves the claims: due queued tasks of one site, and running tasks whose lease expired.
CREATE INDEX tasks_claim ON tasks (site, state, next_attempt_at);
CREATE INDEX tasks_lease ON tasks (state, lease_expires_at);

CREATE TABLE task_attempts (
    task_id    bigint NOT NULL REFERENCES tasks (id),
    number     bigint NOT NULL,
    owner      text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    outcome    text CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
    error      text,
    PRIMARY KEY (task_id, number)
);

-- The steps of a workflow task (see SQLite's version 5).
CREATE TABLE task_steps (
    task_id    bigint NOT NULL REFERENCES tasks (id),
    number     bigint NOT NULL CHECK (number >= 0),
    kind       text NOT NULL,
    title      text NOT NULL,
    state      text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'skipped', 'failed')),
    detail     text,
    output     jsonb NOT NULL DEFAULT 'null',
    started_at timestamptz,
    ended_at   timestamptz,
    PRIMARY KEY (task_id, number)
);

-- Ids come from an identity column, so concurrent transactions could commit them out of
-- order; every transaction that appends events takes the advisory lock named in
-- store/postgres/events.rs first, so ids become visible in order and a reader resuming after
-- an id never skips one committed later with a smaller id.
CREATE TABLE events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('job', 'task', 'inventory', 'ticket', 'site')),
    subject text NOT NULL,
    payload jsonb NOT NULL
);
CREATE INDEX events_at ON events (at);

-- Highest event id ever pruned: a client resuming from an id below it missed events.
CREATE TABLE event_horizon (
    id             bigint PRIMARY KEY CHECK (id = 1),
    pruned_through bigint NOT NULL
);
INSERT INTO event_horizon (id, pruned_through) VALUES (1, 0);

CREATE TABLE outbox (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance            text NOT NULL,
    table_name          text NOT NULL,
    -- The ticket's number: writes are ordered per ticket.
    ticket              text NOT NULL,
    job_id              uuid,
    payload             jsonb NOT NULL,
    created_at          timestamptz NOT NULL,
    attempts            bigint NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL,
    lease_owner         text,
    lease_expires_at    timestamptz,
    delivered_at        timestamptz,
    abandoned_at        timestamptz,
    last_error          text,
    delivered_mod_count bigint
);
CREATE INDEX outbox_pending ON outbox (instance, ticket, id)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL;

CREATE TABLE fulfilment_refusals (
    instance      text NOT NULL,
    ticket_number text NOT NULL,
    reason        text NOT NULL,
    at            timestamptz NOT NULL,
    PRIMARY KEY (instance, ticket_number)
);

-- Site switches set through the API (see SQLite's version 2): every replica obeys them.
CREATE TABLE site_flags (
    name        text PRIMARY KEY,
    enabled     boolean NOT NULL,
    changed_by  text NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Users' security codes (see SQLite's version 4).
CREATE TABLE security_codes (
    user_key          text PRIMARY KEY,
    code_hash         text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('standing', 'one_time')),
    generation        text NOT NULL,
    enrolled_at       timestamptz NOT NULL,
    enrolled_by       text NOT NULL,
    expires_at        timestamptz,
    failed_attempts   bigint NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    window_started_at timestamptz,
    locked_until      timestamptz,
    used_at           timestamptz
);

CREATE TABLE security_code_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_key text NOT NULL,
    at       timestamptz NOT NULL,
    event    text NOT NULL CHECK (event IN ('enrolled', 'revoked', 'verified', 'wrong',
        'wrong_locked', 'locked_out', 'not_enrolled', 'expired', 'already_used')),
    actor    text NOT NULL
);
CREATE INDEX security_code_log_user ON security_code_log (user_key, id);
CREATE TRIGGER security_code_log_append_only BEFORE UPDATE OR DELETE ON security_code_log
    FOR EACH ROW EXECUTE FUNCTION deskbridge_append_only();
CREATE TRIGGER security_code_log_no_truncate BEFORE TRUNCATE ON security_code_log
    FOR EACH STATEMENT EXECUTE FUNCTION deskbridge_append_only();

-- The replicas sharing this database: each one's heartbeat, so the others know how many are
-- alive and divide every site's concurrency and rate limit among them.
CREATE TABLE replicas (
    id           text PRIMARY KEY,
    host         text NOT NULL,
    version      text NOT NULL,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- Work that one replica at a time does (the outbox's delivery, each schedule): the holder
-- renews its lease; when it dies the lease expires and another replica takes over.
CREATE TABLE singleton_leases (
    name       text PRIMARY KEY,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL
);
