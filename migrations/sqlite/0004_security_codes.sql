-- deskbridge adapter store, SQLite schema version 4: users' security codes for identity
-- verification before a password reset, and the trail of every attempt.
--
-- user_key: the account name without its domain, lower-cased (LAB\Alice → alice).
-- code_hash: the argon2id PHC string (algorithm, parameters, per-code salt, hash); the code
-- itself is never stored.
-- generation: changes on every enrolment, so an attempt compared against a code that was
-- replaced meanwhile is compared again rather than counted against the new code.
-- Times are milliseconds since the epoch, UTC, from the store's clock.
CREATE TABLE security_codes (
    user_key          TEXT PRIMARY KEY,
    code_hash         TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('standing', 'one_time')),
    generation        TEXT NOT NULL,
    enrolled_at       INTEGER NOT NULL,
    enrolled_by       TEXT NOT NULL,
    expires_at        INTEGER,
    failed_attempts   INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    window_started_at INTEGER,
    locked_until      INTEGER,
    used_at           INTEGER
);

-- One row per enrolment, revocation and verification attempt, refused ones included; never
-- the code. Append-only like the audit log.
CREATE TABLE security_code_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_key TEXT NOT NULL,
    at       INTEGER NOT NULL,
    event    TEXT NOT NULL CHECK (event IN ('enrolled', 'revoked', 'verified', 'wrong',
        'wrong_locked', 'locked_out', 'not_enrolled', 'expired', 'already_used')),
    actor    TEXT NOT NULL
);
CREATE INDEX security_code_log_user ON security_code_log (user_key, id);
CREATE TRIGGER security_code_log_no_update BEFORE UPDATE ON security_code_log
BEGIN
    SELECT RAISE(ABORT, 'security_code_log is append-only');
END;
CREATE TRIGGER security_code_log_no_delete BEFORE DELETE ON security_code_log
BEGIN
    SELECT RAISE(ABORT, 'security_code_log is append-only');
END;
