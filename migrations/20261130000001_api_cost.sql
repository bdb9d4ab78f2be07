-- What each run cost in Feishu API calls. `requests` (already there) counts every HTTP
-- request the run sent, retries and waits included; this adds how many of them Feishu
-- answered with its frequency limit (HTTP 429/400, code 99991400), so `status` can show
-- whether a stream runs at its limit and what a run costs against the monthly quota.
ALTER TABLE feishu.sync_runs ADD COLUMN rate_limited_requests bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN feishu.sync_runs.requests IS
    'HTTP requests the run sent to Feishu, retries and frequency-limit waits included';
COMMENT ON COLUMN feishu.sync_runs.rate_limited_requests IS
    'Requests of the run that Feishu answered with its frequency limit (code 99991400)';
