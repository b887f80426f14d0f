-- deskbridge adapter store, SQLite schema version 3: the job ↔ ticket lifecycle.
--
-- ticket_phase: what the adapter has told the job's ticket so far ('none', 'started', or the
-- final job state it reported). The lifecycle worker compares it with the job's state and
-- queues the missing ticket writes in the same transaction that advances it, so a crash never
-- loses a write nor queues one twice.
-- ticket_status: one line for people: the last ticket write's outcome ("resolved", "conflict: …").
ALTER TABLE jobs ADD COLUMN ticket_phase TEXT NOT NULL DEFAULT 'none' CHECK (ticket_phase IN
    ('none', 'started', 'succeeded', 'failed', 'partially_failed', 'cancelled'));
ALTER TABLE jobs ADD COLUMN ticket_status TEXT;
CREATE INDEX jobs_ticket_lag ON jobs (updated_at) WHERE ticket_number IS NOT NULL;

-- The outbox orders writes per ticket by its number (unique per instance across the ticket
-- tables), which is known before ServiceNow has been asked for the record's sys_id.
ALTER TABLE outbox RENAME COLUMN sys_id TO ticket;
-- The job a write belongs to (NULL for an operator's direct write), and the ticket's
-- sys_mod_count right after the write: the next write of the same ticket expects it.
ALTER TABLE outbox ADD COLUMN job_id TEXT;
ALTER TABLE outbox ADD COLUMN delivered_mod_count INTEGER;

-- Catalog requests the adapter would not fulfil on its own: recorded once, so the ticket gets
-- one explanatory work note however often the poller or ServiceNow asks again.
CREATE TABLE fulfilment_refusals (
    instance      TEXT NOT NULL,
    ticket_number TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (instance, ticket_number)
);
