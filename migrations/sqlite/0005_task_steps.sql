-- The steps of a workflow task (onboarding, offboarding, desktop and app requests), written
-- as each step starts and ends. A retried or resumed task continues from the first step that
-- is not done; a step found `running` was interrupted and checks its target before acting.
CREATE TABLE task_steps (
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    number     INTEGER NOT NULL CHECK (number >= 0),
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'skipped', 'failed')),
    -- What the step did, or why it failed, for a person.
    detail     TEXT,
    -- What later steps need from this one (a provisioned machine's name), as JSON.
    output     TEXT NOT NULL DEFAULT 'null',
    started_at INTEGER,
    ended_at   INTEGER,
    PRIMARY KEY (task_id, number)
);
