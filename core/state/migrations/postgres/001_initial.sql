-- Run history, steps and job locks. Applied with search_path set to the
-- store's schema (segflow_state by default).

CREATE TABLE runs (
    id            text PRIMARY KEY,
    job           text NOT NULL,
    trigger       text NOT NULL,
    scheduled_for timestamptz,
    status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    error         text NOT NULL DEFAULT '',
    instance      text NOT NULL DEFAULT ''
);

-- Exactly one run per scheduled time of a job, whichever instance claims it.
CREATE UNIQUE INDEX runs_job_scheduled_for ON runs (job, scheduled_for) WHERE trigger = 'schedule';
CREATE INDEX runs_job_started_at ON runs (job, started_at DESC);
CREATE INDEX runs_started_at ON runs (started_at DESC);

CREATE TABLE steps (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    name          text NOT NULL,
    rows          bigint NOT NULL DEFAULT 0,
    bytes_scanned bigint NOT NULL DEFAULT 0,
    duration_ms   bigint NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    sql           text NOT NULL DEFAULT '',
    started_at    timestamptz
);

CREATE INDEX steps_run_id ON steps (run_id, id);

-- One row per locked job. A row whose expires_at (database clock) has
-- passed is free to take.
CREATE TABLE job_locks (
    job         text PRIMARY KEY,
    instance    text NOT NULL,
    token       text NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
