-- The request rate at which Feishu's frequency limit came, as the client's budget learned
-- it: recorded by each run so that `status`, a separate process, can tell the user that
-- `feishu.rate_limits.<stream>` is set above the endpoint's real ceiling.
ALTER TABLE feishu.sync_runs ADD COLUMN rate_ceiling_per_minute integer
    CHECK (rate_ceiling_per_minute > 0);
COMMENT ON COLUMN feishu.sync_runs.rate_ceiling_per_minute IS
    'Requests per minute at which the endpoint''s last frequency limits came, as learned by the client when the run ended; NULL while no limit has shown a ceiling below the configured rate';
