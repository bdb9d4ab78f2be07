-- The approval API's only total: data.count of the first page of each user and topic.
-- Its total is capped at 999; has_more says the list holds more than it returns, in which
-- case a pass over that list is incomplete and retires nothing.
CREATE TABLE feishu.approval_task_counts (
    user_id    text NOT NULL,
    topic      text NOT NULL,
    total      integer,
    has_more   boolean,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, topic)
);
COMMENT ON TABLE feishu.approval_task_counts IS
    'How many approval tasks the API says each user''s list holds (source: data.count of the first page). Key: (user_id, topic)';
COMMENT ON COLUMN feishu.approval_task_counts.user_id IS 'The user; joins feishu.users.id';
COMMENT ON COLUMN feishu.approval_task_counts.topic IS 'The list: 1 = to do, 2 = done, 3 = initiated, 17 = unread CC, 18 = read CC';
COMMENT ON COLUMN feishu.approval_task_counts.total IS 'Tasks in the list (source: count.total, capped at 999 by the API)';
COMMENT ON COLUMN feishu.approval_task_counts.has_more IS
    'Whether the list holds more than the API returns (source: count.has_more); while true, feishu.approval_tasks misses some and nothing is retired from that list';
COMMENT ON COLUMN feishu.approval_task_counts.synced_at IS 'When the count last changed';
