-- Real-time sync over Feishu's long connection: the event inbox, the approval
-- subscriptions, and the mark on runs that events started.
CREATE TABLE feishu.events (
    event_id     text PRIMARY KEY,
    event_type   text NOT NULL,
    created_at   timestamptz,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    payload      jsonb NOT NULL,
    error        text
);
CREATE INDEX events_unprocessed ON feishu.events (received_at) WHERE processed_at IS NULL;
CREATE INDEX events_processed_at ON feishu.events (processed_at) WHERE processed_at IS NOT NULL;
COMMENT ON TABLE feishu.events IS
    'The inbox of events received over Feishu''s long connection: one row per event, stored (and committed) before the event is acknowledged; a duplicate delivery adds nothing. Rows whose processed_at is NULL are applied at the next start.';
COMMENT ON COLUMN feishu.events.event_id IS 'Schema 2.0 header.event_id, or the v1 uuid';
COMMENT ON COLUMN feishu.events.event_type IS 'Schema 2.0 header.event_type (contact.user.updated_v3, task.task.updated_v1, ...), or the v1 event.type (approval_task, approval_instance)';
COMMENT ON COLUMN feishu.events.created_at IS 'When Feishu created the event: header.create_time (milliseconds), or the v1 ts (seconds with a fraction)';
COMMENT ON COLUMN feishu.events.received_at IS 'When feishu-sync committed the event to this table';
COMMENT ON COLUMN feishu.events.processed_at IS 'When the event''s effect was applied (a re-read, an upsert, a retirement); NULL until then';
COMMENT ON COLUMN feishu.events.payload IS 'The event exactly as received (the reassembled payload of its frames)';
COMMENT ON COLUMN feishu.events.error IS 'Why applying the event failed the last time, or NULL; a failed event is retried by the next processing round';

CREATE TABLE feishu.event_subscriptions (
    approval_code text PRIMARY KEY,
    subscribed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE feishu.event_subscriptions IS
    'Approval definitions the app has subscribed to (POST /approval/v4/approvals/:approval_code/subscribe), so that no code is subscribed twice; Feishu sends approval events only for these';
COMMENT ON COLUMN feishu.event_subscriptions.approval_code IS 'The approval definition code (approval_tasks.definition_code, or events.approval_codes)';
COMMENT ON COLUMN feishu.event_subscriptions.subscribed_at IS 'When Feishu accepted the subscription (or answered that it already existed)';

ALTER TABLE feishu.sync_runs ADD COLUMN trigger text NOT NULL DEFAULT 'schedule'
    CHECK (trigger IN ('schedule', 'event'));
COMMENT ON COLUMN feishu.sync_runs.trigger IS
    'schedule = a scheduled or one-off run (sync, run, backfills, sweeps); event = a targeted re-read started by events from the long connection';

CREATE TABLE feishu.event_connections (
    process         text PRIMARY KEY,
    connected_since timestamptz,
    last_frame_at   timestamptz,
    reconnects      bigint NOT NULL DEFAULT 0,
    last_error      text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE feishu.event_connections IS
    'The long connection of each running service process, as feishu-sync status shows it; written every few seconds while events are enabled';
COMMENT ON COLUMN feishu.event_connections.process IS 'host:pid of the run process holding the connection';
COMMENT ON COLUMN feishu.event_connections.connected_since IS 'When the open connection was opened; NULL while it is down';
COMMENT ON COLUMN feishu.event_connections.last_frame_at IS 'When the last frame (pong, event) arrived';
COMMENT ON COLUMN feishu.event_connections.reconnects IS 'Times the process opened the connection again after a loss';
COMMENT ON COLUMN feishu.event_connections.last_error IS 'The last reason the connection was lost or refused';
COMMENT ON COLUMN feishu.event_connections.updated_at IS 'When the process last wrote this row; rows older than ten minutes are of processes gone';
