-- Run history, steps and job locks. Times are UTC text in the fixed-width
-- form 2006-01-02T15:04:05.000000Z, so they sort as text and SQLite's date
-- functions read them.

CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    job           TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    scheduled_for TEXT,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    error         TEXT NOT NULL DEFAULT '',
    instance      TEXT NOT NULL DEFAULT ''
);

-- Exactly one run per scheduled time of a job, whichever instance claims it.
CREATE UNIQUE INDEX runs_job_scheduled_for ON runs (job, scheduled_for) WHERE trigger = 'schedule';
CREATE INDEX runs_job_started_at ON runs (job, started_at);
CREATE INDEX runs_started_at ON runs (started_at);

CREATE TABLE steps (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    rows          INTEGER NOT NULL DEFAULT 0,
    bytes_scanned INTEGER NOT NULL DEFAULT 0,
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    sql           TEXT NOT NULL DEFAULT '',
    started_at    TEXT
);

CREATE INDEX steps_run_id ON steps (run_id, id);

-- One row per locked job. A row whose expires_at has passed is free to take.
CREATE TABLE job_locks (
    job         TEXT PRIMARY KEY,
    instance    TEXT NOT NULL,
    token       TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
