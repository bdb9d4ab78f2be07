-- Approval `status` and `process_status` are stored as they arrive. The document's enum
-- table gives numeric codes ("1" to do, ...) while its own example, and tenants observed
-- in the field, send words ("Todo", "Running"). These functions give the numeric code for
-- either form, so views and queries work with both; an unknown word gives NULL, which
-- shows rather than hides it.

CREATE FUNCTION feishu.approval_status_code(status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN status ~ '^[0-9]+$' THEN status
        ELSE CASE lower(replace(status, '_', ''))
            WHEN 'todo' THEN '1'
            WHEN 'done' THEN '2'
            WHEN 'unread' THEN '17'
            WHEN 'read' THEN '18'
            WHEN 'processing' THEN '33'
            WHEN 'withdrawn' THEN '34'
            WHEN 'withdraw' THEN '34'
        END
    END
$$;
COMMENT ON FUNCTION feishu.approval_status_code(text) IS
    'The numeric task status (1 = to do, 2 = done, 17 = unread, 18 = read, 33 = processing, 34 = withdrawn) of either form the API sends: the code itself, or a word such as Todo';

CREATE FUNCTION feishu.approval_process_status_code(process_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN process_status ~ '^[0-9]+$' THEN process_status
        ELSE CASE lower(replace(process_status, '_', ''))
            WHEN 'none' THEN '0'
            WHEN 'running' THEN '1'
            WHEN 'pending' THEN '1'
            WHEN 'approved' THEN '2'
            WHEN 'rejected' THEN '3'
            WHEN 'canceled' THEN '4'
            WHEN 'cancelled' THEN '4'
            WHEN 'revoked' THEN '4'
            WHEN 'terminated' THEN '5'
            WHEN 'deleted' THEN '5'
        END
    END
$$;
COMMENT ON FUNCTION feishu.approval_process_status_code(text) IS
    'The numeric process status (0 = none, 1 = running, 2 = approved, 3 = rejected, 4 = withdrawn, 5 = terminated) of either form the API sends: the code itself, or a word such as Running';

COMMENT ON COLUMN feishu.approval_tasks.status IS
    'Task status as sent (source: status): the document''s codes 1 = to do, 2 = done, 17 = unread, 18 = read, 33 = processing, 34 = withdrawn, or words such as Todo; feishu.approval_status_code(status) gives the code for both';
COMMENT ON COLUMN feishu.approval_tasks.process_status IS
    'Process status as sent (source: process_status): the document''s codes 0 = none, 1 = running, 2 = approved, 3 = rejected, 4 = withdrawn, 5 = terminated, or words such as Running; feishu.approval_process_status_code(process_status) gives the code for both';
COMMENT ON COLUMN feishu.approval_tasks_history.status IS
    'Task status as sent: a code (1 = to do, 2 = done, 17, 18, 33, 34) or a word such as Todo; see feishu.approval_status_code';
COMMENT ON COLUMN feishu.approval_tasks_history.process_status IS
    'Process status as sent: a code (0 to 5) or a word such as Running; see feishu.approval_process_status_code';

-- The views gain the codes, whatever form arrived.
CREATE OR REPLACE VIEW feishu.approval_backlog AS
SELECT a.user_id AS assignee_id,
       p.name AS assignee_name,
       p.department_names AS assignee_departments,
       a.task_id,
       a.title,
       a.definition_name,
       a.definition_code,
       a.process_id,
       a.initiators,
       a.initiator_names,
       a.url_pc,
       a.synced_at AS last_changed_at,
       feishu.approval_status_code(a.status) AS status_code,
       feishu.approval_process_status_code(a.process_status) AS process_status_code
  FROM feishu.approval_tasks a
  LEFT JOIN feishu.people p ON p.id = a.user_id
 WHERE a.topic = '1' AND a.deleted_at IS NULL;
COMMENT ON COLUMN feishu.approval_backlog.status_code IS 'Task status as a code, whichever form the API sent (1 = to do...)';
COMMENT ON COLUMN feishu.approval_backlog.process_status_code IS 'Process status as a code, whichever form the API sent (1 = running...)';
