-- deskbridge adapter store, SQLite schema version 2: site enable/disable set through the API.
-- A row exists only for a site an operator has switched with the API; it then wins over the
-- site's `enabled` key in adapter.toml, so a restart (or another replica) keeps the decision.
-- `name` is the site's name from the config; a row for a site since removed from the config
-- is harmless and is kept so that re-adding the site keeps the operator's last decision.

CREATE TABLE site_flags (
    name        TEXT PRIMARY KEY,
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- Who switched it last (API client name), for the sites listing; the audit log has the rest.
    changed_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
