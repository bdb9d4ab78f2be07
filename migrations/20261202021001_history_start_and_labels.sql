-- Issue 21: where the history starts, one label for the root department, and words beside
-- the status codes in the views.

-- The history begins with each stream's first sync: an as-of query for an earlier time
-- finds no versions, which reads as "nothing" rather than "not recorded yet". Examples and
-- reports limit themselves to the time this view says is covered.
CREATE VIEW feishu.history_start AS
SELECT stream,
       min(started_at) AS first_sync_started_at,
       min(finished_at) AS history_complete_from
  FROM feishu.sync_runs
 WHERE status IN ('succeeded', 'partial')
 GROUP BY stream;
COMMENT ON VIEW feishu.history_start IS
    'Per stream, when its recorded history begins: as-of functions (feishu.<table>_at) know nothing before history_complete_from, so limit trends to times after it';
COMMENT ON COLUMN feishu.history_start.stream IS 'Stream name, as in feishu.sync_runs';
COMMENT ON COLUMN feishu.history_start.first_sync_started_at IS 'When the stream''s first successful (or partial) run started';
COMMENT ON COLUMN feishu.history_start.history_complete_from IS
    'When that run finished: from then on every row the stream holds has its versions';

-- Members of the root department: one label, `(root)`, wherever department names show.
CREATE OR REPLACE VIEW feishu.people AS
SELECT u.id,
       u.name,
       u.en_name,
       u.email,
       u.job_title,
       u.employee_no,
       u.employee_type,
       u.city,
       u.country,
       u.join_time,
       u.leader_user_id,
       leader.name AS leader_name,
       coalesce(array_agg(d.id ORDER BY d.name) FILTER (WHERE d.id IS NOT NULL), '{}') AS department_ids,
       coalesce(array_agg(d.name ORDER BY d.name) FILTER (WHERE d.id IS NOT NULL), '{(root)}') AS department_names,
       u.is_frozen,
       CASE u.employee_type
           WHEN 1 THEN 'full-time' WHEN 2 THEN 'intern' WHEN 3 THEN 'outsourced'
           WHEN 4 THEN 'contract labour' WHEN 5 THEN 'consultant'
       END AS employee_type_label
  FROM feishu.users u
  LEFT JOIN feishu.user_departments ud ON ud.user_id = u.id
  LEFT JOIN feishu.departments d ON d.id = ud.department_id AND d.deleted_at IS NULL
  LEFT JOIN feishu.users leader ON leader.id = u.leader_user_id
 WHERE u.deleted_at IS NULL
 GROUP BY u.id, leader.name;
COMMENT ON COLUMN feishu.people.department_names IS
    'Their names, in the same order; {(root)} for users directly at the root (whose department_ids is empty)';
COMMENT ON COLUMN feishu.people.employee_type_label IS
    'employee_type in words: full-time, intern, outsourced, contract labour, consultant (NULL for another code)';

CREATE FUNCTION feishu.approval_status_label(status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE feishu.approval_status_code(status)
        WHEN '1' THEN 'to do' WHEN '2' THEN 'done' WHEN '17' THEN 'unread' WHEN '18' THEN 'read'
        WHEN '33' THEN 'processing' WHEN '34' THEN 'withdrawn'
    END
$$;
COMMENT ON FUNCTION feishu.approval_status_label(text) IS
    'The task status in words (to do, done, unread, read, processing, withdrawn), from either form the API sends';

CREATE FUNCTION feishu.approval_process_status_label(process_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE feishu.approval_process_status_code(process_status)
        WHEN '0' THEN 'none' WHEN '1' THEN 'running' WHEN '2' THEN 'approved' WHEN '3' THEN 'rejected'
        WHEN '4' THEN 'withdrawn' WHEN '5' THEN 'terminated'
    END
$$;
COMMENT ON FUNCTION feishu.approval_process_status_label(text) IS
    'The process status in words (none, running, approved, rejected, withdrawn, terminated), from either form the API sends';

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
       feishu.approval_process_status_code(a.process_status) AS process_status_code,
       feishu.approval_status_label(a.status) AS status_label,
       feishu.approval_process_status_label(a.process_status) AS process_status_label
  FROM feishu.approval_tasks a
  LEFT JOIN feishu.people p ON p.id = a.user_id
 WHERE a.topic = '1' AND a.deleted_at IS NULL;
COMMENT ON COLUMN feishu.approval_backlog.assignee_departments IS
    'Their departments'' names; {(root)} for people directly at the root';
COMMENT ON COLUMN feishu.approval_backlog.status_label IS 'status_code in words (to do, done, unread, read, processing, withdrawn)';
COMMENT ON COLUMN feishu.approval_backlog.process_status_label IS
    'process_status_code in words (none, running, approved, rejected, withdrawn, terminated)';

-- Stage tasks: the status code in words, beside the counts per status.
CREATE FUNCTION feishu.stage_task_option_label(task_option_id integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE task_option_id WHEN 1 THEN 'to do' WHEN 2 THEN 'done' WHEN 3 THEN 'overdue' END
$$;
COMMENT ON FUNCTION feishu.stage_task_option_label(integer) IS
    'A stage task''s task_option_id in words: 1 = to do, 2 = done, 3 = overdue';
