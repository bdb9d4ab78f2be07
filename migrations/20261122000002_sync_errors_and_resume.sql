-- Records the API sent that could not be mapped to rows (a missing key, a wrong type, an
-- unparseable time). The rest of their page is written; the run ends `partial`; the
-- partition's watermark does not move, so the next run reads the record again. An error
-- is resolved when a later complete read of its partition has no malformed record.
CREATE TABLE feishu.sync_errors (
    id             bigserial PRIMARY KEY,
    stream         text NOT NULL,
    partition_key  text NOT NULL,
    -- The record's key (task id, user/stage ...) when it could be read, else NULL.
    record_key     text,
    reason         text NOT NULL,
    raw            jsonb NOT NULL,
    -- md5 of the raw text: the same record seen again updates this row.
    fingerprint    text NOT NULL,
    occurrences    integer NOT NULL DEFAULT 1,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz
);
CREATE UNIQUE INDEX sync_errors_open_idx ON feishu.sync_errors (stream, partition_key, fingerprint)
    WHERE resolved_at IS NULL;
COMMENT ON TABLE feishu.sync_errors IS
    'Malformed records skipped by a sync; open while resolved_at IS NULL';

-- Where an unfinished pass of a partition stands, committed with each page, so a pass cut
-- short (crash, SIGKILL, shutdown) resumes at its next page instead of its first.
ALTER TABLE feishu.sync_state
    -- page_token of the next page to read; NULL when no pass is in progress.
    ADD COLUMN resume_page_token text,
    -- The request the token belongs to (endpoint, filters); a pass with other filters
    -- (a backfill, a moved watermark) starts afresh.
    ADD COLUMN resume_request    text,
    -- When the interrupted pass started: the watermark it will set, if time-based.
    ADD COLUMN pass_started_at   timestamptz,
    -- Pages the unfinished pass has committed so far.
    ADD COLUMN pass_pages        integer NOT NULL DEFAULT 0;
ALTER TABLE feishu.sync_state
    -- Malformed records the unfinished pass has met; a pass with any does not complete.
    ADD COLUMN pass_rejected     integer NOT NULL DEFAULT 0;

-- Malformed records a run skipped (see feishu.sync_errors); a run with any is `partial`.
ALTER TABLE feishu.sync_runs ADD COLUMN rows_rejected bigint NOT NULL DEFAULT 0;

-- Members are written only in the transaction that upserts their task, and tasks are
-- never deleted (only retired), so the foreign keys checked nothing the writer does not
-- already guarantee, at the price of one lookup per member row on every first load.
ALTER TABLE feishu.task_collaborators DROP CONSTRAINT task_collaborators_task_id_fkey;
ALTER TABLE feishu.task_followers DROP CONSTRAINT task_followers_task_id_fkey;
