-- The data dictionary: a comment on every table, view and column of schema `feishu`, which
-- BI tools (Metabase, Superset, DataGrip...) show beside the data. A test fails if any
-- relation or column lacks one. Then the views analysts ask for first.

-- Columns every entity table shares.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['semesters', 'activities', 'stage_tasks', 'stage_task_counts',
                             'approval_tasks', 'tasks', 'departments', 'users'] LOOP
        EXECUTE format($c$COMMENT ON COLUMN feishu.%I.raw IS
            'The record exactly as Feishu sent it (jsonb); the typed columns are derived from it'$c$, t);
        EXECUTE format($c$COMMENT ON COLUMN feishu.%I.deleted_at IS
            'When a complete read no longer returned the row (deleted, resigned, out of range); NULL while current. Filter deleted_at IS NULL for the current state'$c$, t);
        EXECUTE format($c$COMMENT ON COLUMN feishu.%I.synced_at IS
            'When feishu-sync last inserted or changed the row; unchanged records are never rewritten, so this is a change time'$c$, t);
    END LOOP;
END $$;

COMMENT ON TABLE feishu.semesters IS
    'Performance semesters (review cycles). Source: GET /open-apis/performance/v1/semesters, data.items[]. Key: id';
COMMENT ON COLUMN feishu.semesters.id IS 'Semester id (source: id)';
COMMENT ON COLUMN feishu.semesters.year IS 'Year the semester belongs to (source: year)';
COMMENT ON COLUMN feishu.semesters.type_group IS
    'Kind of period (source: type_group): Annual, Semi-annual, Quarter, Bimonth, Month, Non-standard';
COMMENT ON COLUMN feishu.semesters.type IS
    'The period within its group (source: type): Annual, H1, H2, Q1..Q4, January-February.., January..December, Custom';
COMMENT ON COLUMN feishu.semesters.name_zh IS 'Name in Chinese (source: name["zh-CN"])';
COMMENT ON COLUMN feishu.semesters.name_en IS 'Name in English (source: name["en-US"])';
COMMENT ON COLUMN feishu.semesters.progress IS 'State (source: progress): initiating = being set up, enabled = running';
COMMENT ON COLUMN feishu.semesters.start_time IS 'Start of the period (source: start_time, epoch ms)';
COMMENT ON COLUMN feishu.semesters.end_time IS 'End of the period (source: end_time, epoch ms)';
COMMENT ON COLUMN feishu.semesters.create_time IS 'When the semester was created (source: create_time, epoch ms)';
COMMENT ON COLUMN feishu.semesters.modify_time IS 'When the semester was last changed (source: modify_time, epoch ms)';
COMMENT ON COLUMN feishu.semesters.create_user_id IS 'Creator (source: create_user_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.semesters.modify_user_id IS 'Last editor (source: modify_user_id); joins feishu.users.id';

COMMENT ON TABLE feishu.activities IS
    'Performance activities (review projects) of each semester. Source: POST /open-apis/performance/v2/activity/query, data.activities[]. Key: id';
COMMENT ON COLUMN feishu.activities.id IS 'Activity id (source: id)';
COMMENT ON COLUMN feishu.activities.semester_id IS 'The semester (source: semester_id); joins feishu.semesters.id';
COMMENT ON COLUMN feishu.activities.name_zh IS 'Name in Chinese (source: name.zh_cn)';
COMMENT ON COLUMN feishu.activities.name_en IS 'Name in English (source: name.en_us)';
COMMENT ON COLUMN feishu.activities.description_zh IS 'Description in Chinese (source: description.zh_cn)';
COMMENT ON COLUMN feishu.activities.description_en IS 'Description in English (source: description.en_us)';
COMMENT ON COLUMN feishu.activities.mode IS
    'What the activity does (source: mode): metric_development, performance_review, metric_development_and_performance_review';
COMMENT ON COLUMN feishu.activities.progress IS
    'State (source: progress): configurable, unable, initiating, enabled, finished';
COMMENT ON COLUMN feishu.activities.create_time IS 'When created (source: create_time, epoch ms)';
COMMENT ON COLUMN feishu.activities.modify_time IS 'When last changed (source: modify_time, epoch ms)';
COMMENT ON COLUMN feishu.activities.create_user_id IS 'Creator (source: create_user_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.activities.modify_user_id IS 'Last editor (source: modify_user_id); joins feishu.users.id';

COMMENT ON TABLE feishu.stage_tasks IS
    'One user''s task in one stage of a semester (self-review, manager review...). Source: POST /open-apis/performance/v1/stage_tasks/find_by_page, data.items[].stage_task_info_lists[]. Key: (semester_id, user_id, stage_id)';
COMMENT ON COLUMN feishu.stage_tasks.semester_id IS 'The semester (the request''s semester_id); joins feishu.semesters.id';
COMMENT ON COLUMN feishu.stage_tasks.user_id IS 'The user the task belongs to (source: items[].user_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.stage_tasks.stage_id IS 'The stage (source: stage_id), shared by every user of the semester';
COMMENT ON COLUMN feishu.stage_tasks.name_zh IS 'Stage name in Chinese (source: name["zh-CN"])';
COMMENT ON COLUMN feishu.stage_tasks.name_en IS 'Stage name in English (source: name["en-US"])';
COMMENT ON COLUMN feishu.stage_tasks.deadline IS 'Deadline of the stage (source: deadline, epoch ms)';
COMMENT ON COLUMN feishu.stage_tasks.need_todo_count IS 'Items the user still has to do in this stage (source: need_todo_count)';
COMMENT ON COLUMN feishu.stage_tasks.jump_url IS 'Link to the page where the task is done (source: jump_url)';
COMMENT ON COLUMN feishu.stage_tasks.stage_task_status IS
    'Status (source: stage_task_status): need_todo = still to do, overdue = past the deadline and not done, all_done = done, stage_pause = stage paused';
COMMENT ON COLUMN feishu.stage_tasks.task_option_id IS
    'Status code (source: task_option_id): 1 = to do, 2 = done, 3 = overdue';

COMMENT ON TABLE feishu.stage_task_counts IS
    'Per semester and user, how many stage tasks are in each status, as the API counts them; written only by whole-semester reads. Source: the stage-task endpoint''s data.items[].stage_num_lists[]. Key: (semester_id, user_id, task_option_id)';
COMMENT ON COLUMN feishu.stage_task_counts.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.stage_task_counts.user_id IS 'The user (source: items[].user_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.stage_task_counts.task_option_id IS 'Status counted (source: task_option_id): 1 = to do, 2 = done, 3 = overdue';
COMMENT ON COLUMN feishu.stage_task_counts.stage_num IS 'Number of the user''s stage tasks in that status (source: stage_num)';

COMMENT ON TABLE feishu.approval_tasks IS
    'Approval tasks of each user, per topic. Source: GET /open-apis/approval/v4/tasks/query, data.tasks[]. Key: (user_id, topic, task_id); one task may appear for several users';
COMMENT ON COLUMN feishu.approval_tasks.user_id IS 'The user whose list holds the task (the request''s user_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.approval_tasks.topic IS
    'The list (the request''s topic): 1 = to do, 2 = done, 3 = initiated by the user, 17 = unread CC, 18 = read CC';
COMMENT ON COLUMN feishu.approval_tasks.task_id IS 'Task id (source: task_id)';
COMMENT ON COLUMN feishu.approval_tasks.title IS 'Title (source: title)';
COMMENT ON COLUMN feishu.approval_tasks.url_helpdesk IS 'Link for the help desk (source: urls.helpdesk)';
COMMENT ON COLUMN feishu.approval_tasks.url_mobile IS 'Link for mobile (source: urls.mobile)';
COMMENT ON COLUMN feishu.approval_tasks.url_pc IS 'Link for desktop (source: urls.pc)';
COMMENT ON COLUMN feishu.approval_tasks.process_external_id IS 'Third-party process id, for processes of external systems (source: process_external_id)';
COMMENT ON COLUMN feishu.approval_tasks.task_external_id IS 'Third-party task id (source: task_external_id)';
COMMENT ON COLUMN feishu.approval_tasks.status IS
    'Task status (source: status): 1 = to do, 2 = done, 17 = unread, 18 = read, 33 = processing, 34 = withdrawn';
COMMENT ON COLUMN feishu.approval_tasks.process_status IS
    'Status of the whole process (source: process_status): 0 = none, 1 = running, 2 = approved, 3 = rejected, 4 = withdrawn, 5 = terminated';
COMMENT ON COLUMN feishu.approval_tasks.definition_code IS 'Code of the approval definition (source: definition_code)';
COMMENT ON COLUMN feishu.approval_tasks.initiators IS 'Who started the process (source: initiators); each joins feishu.users.id';
COMMENT ON COLUMN feishu.approval_tasks.initiator_names IS 'Their names, as the API sends them (source: initiator_names)';
COMMENT ON COLUMN feishu.approval_tasks.process_id IS 'The process instance (source: process_id)';
COMMENT ON COLUMN feishu.approval_tasks.process_code IS 'The process instance code (source: process_code)';
COMMENT ON COLUMN feishu.approval_tasks.definition_group_id IS 'Group of the approval definition (source: definition_group_id)';
COMMENT ON COLUMN feishu.approval_tasks.definition_group_name IS 'Its name (source: definition_group_name)';
COMMENT ON COLUMN feishu.approval_tasks.definition_id IS 'The approval definition (source: definition_id)';
COMMENT ON COLUMN feishu.approval_tasks.definition_name IS 'Its name, e.g. Leave request (source: definition_name)';

COMMENT ON TABLE feishu.tasks IS
    'Task v1 tasks (with a tenant token: the tasks the app created). Source: GET /open-apis/task/v1/tasks, data.items[]. Key: id';
COMMENT ON COLUMN feishu.tasks.id IS 'Task id (source: id)';
COMMENT ON COLUMN feishu.tasks.summary IS 'Title (source: summary)';
COMMENT ON COLUMN feishu.tasks.description IS 'Description (source: description)';
COMMENT ON COLUMN feishu.tasks.creator_id IS 'Creator (source: creator_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.tasks.create_time IS 'When created (source: create_time, epoch s)';
COMMENT ON COLUMN feishu.tasks.update_time IS 'When last changed (source: update_time, epoch s)';
COMMENT ON COLUMN feishu.tasks.complete_time IS 'When completed (source: complete_time, epoch s); NULL while open';
COMMENT ON COLUMN feishu.tasks.due_time IS 'Due date (source: due.time, epoch s); NULL without one';
COMMENT ON COLUMN feishu.tasks.due_timezone IS 'Time zone of the due date, IANA name (source: due.timezone); NULL when empty';
COMMENT ON COLUMN feishu.tasks.due_is_all_day IS 'Whether the task is due on a whole day (source: due.is_all_day)';
COMMENT ON COLUMN feishu.tasks.can_edit IS 'Whether the app may edit it (source: can_edit)';
COMMENT ON COLUMN feishu.tasks.source IS
    'Where it was created (source: source): 1 = Feishu tasks, 2 = docs, 3 = messages, 4 = calendar, 5 = meetings, 6 = other apps';
COMMENT ON COLUMN feishu.tasks.repeat_rule IS 'Recurrence, an RFC 5545 RRULE (source: repeat_rule)';
COMMENT ON COLUMN feishu.tasks.extra IS 'Data the creating app attached, base64 (source: extra)';
COMMENT ON COLUMN feishu.tasks.custom IS 'Custom fields, JSON text (source: custom)';
COMMENT ON COLUMN feishu.tasks.origin_platform_zh IS 'Originating platform in Chinese (source: origin.platform_i18n_name zh_cn)';
COMMENT ON COLUMN feishu.tasks.origin_platform_en IS 'Originating platform in English (source: origin.platform_i18n_name en_us)';
COMMENT ON COLUMN feishu.tasks.origin_href_title IS 'Title of the link back to the origin (source: origin.href.title)';
COMMENT ON COLUMN feishu.tasks.origin_href_url IS 'The link back to the origin (source: origin.href.url)';

COMMENT ON TABLE feishu.task_collaborators IS
    'Who works on each task (source: tasks collaborators[].id); exactly the API''s set for every current task. Key: (task_id, user_id)';
COMMENT ON COLUMN feishu.task_collaborators.task_id IS 'The task; joins feishu.tasks.id';
COMMENT ON COLUMN feishu.task_collaborators.user_id IS 'A collaborator; joins feishu.users.id';
COMMENT ON TABLE feishu.task_followers IS
    'Who follows each task (source: tasks followers[].id); exactly the API''s set for every current task. Key: (task_id, user_id)';
COMMENT ON COLUMN feishu.task_followers.task_id IS 'The task; joins feishu.tasks.id';
COMMENT ON COLUMN feishu.task_followers.user_id IS 'A follower; joins feishu.users.id';

COMMENT ON TABLE feishu.departments IS
    'Departments of the organisation (as far as the app''s contact range reaches). Source: GET /open-apis/contact/v3/departments/{id}/children, data.items[]. Key: id';
COMMENT ON COLUMN feishu.departments.id IS 'open_department_id (od-...), unique in the tenant (source: open_department_id)';
COMMENT ON COLUMN feishu.departments.department_id IS 'The tenant''s own department id (source: department_id)';
COMMENT ON COLUMN feishu.departments.parent_id IS
    'The parent''s open_department_id, ''0'' for a top-level department (source: parent_department_id); may name a department outside the app''s range';
COMMENT ON COLUMN feishu.departments.name IS 'Default name (source: name)';
COMMENT ON COLUMN feishu.departments.name_zh IS 'Name in Chinese (source: i18n_name.zh_cn)';
COMMENT ON COLUMN feishu.departments.name_en IS 'Name in English (source: i18n_name.en_us)';
COMMENT ON COLUMN feishu.departments.leader_user_id IS 'The department''s leader (source: leader_user_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.departments.member_count IS
    'Users of the department and all departments below it, leaders included (source: member_count)';

COMMENT ON TABLE feishu.users IS
    'People of the organisation (as far as the app''s contact range reaches). Source: GET /open-apis/contact/v3/users/find_by_department, data.items[], per department. Fields the app has no scope for are NULL. Key: id';
COMMENT ON COLUMN feishu.users.id IS
    'The user''s id of the configured feishu.user_id_type (open_id by default): every user column of the other tables joins here';
COMMENT ON COLUMN feishu.users.open_id IS 'Open id, ou_... (source: open_id)';
COMMENT ON COLUMN feishu.users.union_id IS 'Union id, on_..., the same across the developer''s apps (source: union_id)';
COMMENT ON COLUMN feishu.users.user_id IS 'The tenant''s own user id (source: user_id; needs scope contact:user.employee_id:readonly)';
COMMENT ON COLUMN feishu.users.name IS 'Name (source: name)';
COMMENT ON COLUMN feishu.users.en_name IS 'English name (source: en_name)';
COMMENT ON COLUMN feishu.users.email IS 'Email (source: email; needs scope contact:user.email:readonly)';
COMMENT ON COLUMN feishu.users.enterprise_email IS 'Company email (source: enterprise_email)';
COMMENT ON COLUMN feishu.users.job_title IS 'Job title (source: job_title)';
COMMENT ON COLUMN feishu.users.employee_no IS 'Employee number (source: employee_no)';
COMMENT ON COLUMN feishu.users.employee_type IS
    'Employment (source: employee_type): 1 = full-time, 2 = intern, 3 = outsourced, 4 = contract labour, 5 = consultant; other numbers are the tenant''s own types';
COMMENT ON COLUMN feishu.users.leader_user_id IS 'Direct manager (source: leader_user_id); joins feishu.users.id';
COMMENT ON COLUMN feishu.users.city IS 'Work city (source: city)';
COMMENT ON COLUMN feishu.users.country IS 'Country code, e.g. CN (source: country)';
COMMENT ON COLUMN feishu.users.join_time IS 'When the user joined (source: join_time, epoch s)';
COMMENT ON COLUMN feishu.users.is_tenant_manager IS 'Whether the user is the tenant''s super administrator (source: is_tenant_manager)';
COMMENT ON COLUMN feishu.users.is_activated IS 'Whether the account is activated (source: status.is_activated)';
COMMENT ON COLUMN feishu.users.is_frozen IS 'Whether the account is suspended (source: status.is_frozen)';
COMMENT ON COLUMN feishu.users.is_resigned IS 'Whether the user has left (source: status.is_resigned); resigned users also stop being listed, so their rows get deleted_at';

COMMENT ON TABLE feishu.user_departments IS
    'Which department each current user belongs to (source: users department_ids, else the department that listed them); a user in two departments has two rows. Key: (user_id, department_id)';
COMMENT ON COLUMN feishu.user_departments.user_id IS 'The user; joins feishu.users.id';
COMMENT ON COLUMN feishu.user_departments.department_id IS 'The department''s open_department_id, ''0'' for the root; joins feishu.departments.id';

COMMENT ON TABLE feishu.sync_state IS
    'feishu-sync''s bookkeeping: per stream and partition, the watermark of the last complete read and the cursor of an unfinished one. Key: (stream, partition_key)';
COMMENT ON COLUMN feishu.sync_state.stream IS 'Stream name';
COMMENT ON COLUMN feishu.sync_state.partition_key IS
    'The partition: '''' for single-partition streams, the semester id, user_id/topic for approvals, the department for users';
COMMENT ON COLUMN feishu.sync_state.watermark IS 'Where the next incremental read starts (stage tasks: start of the last complete read; tasks: newest create_time seen); NULL for streams without one';
COMMENT ON COLUMN feishu.sync_state.last_complete_at IS 'When the partition was last read completely';
COMMENT ON COLUMN feishu.sync_state.updated_at IS 'Last write';
COMMENT ON COLUMN feishu.sync_state.resume_page_token IS 'While a read is unfinished: the page_token of its next page, where the next run continues';
COMMENT ON COLUMN feishu.sync_state.resume_request IS 'The request (endpoint and filters) the resume token belongs to';
COMMENT ON COLUMN feishu.sync_state.pass_started_at IS 'When the unfinished read started';
COMMENT ON COLUMN feishu.sync_state.pass_pages IS 'Pages the unfinished read has committed';
COMMENT ON COLUMN feishu.sync_state.pass_rejected IS 'Malformed records the unfinished read met';

COMMENT ON COLUMN feishu.sync_errors.id IS 'Row id';
COMMENT ON COLUMN feishu.sync_errors.stream IS 'Stream the record came from';
COMMENT ON COLUMN feishu.sync_errors.partition_key IS 'Partition the record came from (as in sync_state)';
COMMENT ON COLUMN feishu.sync_errors.record_key IS 'The record''s key when it could be read, else NULL';
COMMENT ON COLUMN feishu.sync_errors.reason IS 'Why it was rejected';
COMMENT ON COLUMN feishu.sync_errors.raw IS 'The record exactly as received';
COMMENT ON COLUMN feishu.sync_errors.fingerprint IS 'md5 of raw: the same record met again updates its open row';
COMMENT ON COLUMN feishu.sync_errors.occurrences IS 'How often the record was met';
COMMENT ON COLUMN feishu.sync_errors.first_seen_at IS 'When it was first met';
COMMENT ON COLUMN feishu.sync_errors.last_seen_at IS 'When it was last met';
COMMENT ON COLUMN feishu.sync_errors.resolved_at IS 'When a later complete read met no malformed record; NULL while open';

COMMENT ON TABLE feishu.sync_runs IS 'One row per run of one stream: what it did, what it cost, how it ended. Key: id';
COMMENT ON COLUMN feishu.sync_runs.id IS 'Run id; every log line of the run carries it as run_id';
COMMENT ON COLUMN feishu.sync_runs.stream IS 'Stream name';
COMMENT ON COLUMN feishu.sync_runs.backfill IS 'Whether the run was a backfill (watermarks ignored)';
COMMENT ON COLUMN feishu.sync_runs.started_at IS 'Start';
COMMENT ON COLUMN feishu.sync_runs.finished_at IS 'End; NULL while running';
COMMENT ON COLUMN feishu.sync_runs.status IS
    'running, succeeded, failed, partial (malformed records skipped, see sync_errors), interrupted (stopped by a shutdown), abandoned (the process died; closed at the next start)';
COMMENT ON COLUMN feishu.sync_runs.pages IS 'Pages committed';
COMMENT ON COLUMN feishu.sync_runs.rows_written IS 'Rows inserted or changed, member pairs included';
COMMENT ON COLUMN feishu.sync_runs.rows_retired IS 'Rows given a deleted_at';
COMMENT ON COLUMN feishu.sync_runs.rows_rejected IS 'Malformed records skipped';
COMMENT ON COLUMN feishu.sync_runs.error IS 'The error, with Feishu''s code, msg and log id; NULL on success';

-- Views. Each reads current rows only (deleted_at IS NULL).

CREATE VIEW feishu.people AS
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
       coalesce(array_agg(d.name ORDER BY d.name) FILTER (WHERE d.id IS NOT NULL), '{}') AS department_names,
       u.is_frozen
  FROM feishu.users u
  LEFT JOIN feishu.user_departments ud ON ud.user_id = u.id
  LEFT JOIN feishu.departments d ON d.id = ud.department_id AND d.deleted_at IS NULL
  LEFT JOIN feishu.users leader ON leader.id = u.leader_user_id
 WHERE u.deleted_at IS NULL
 GROUP BY u.id, leader.name;
COMMENT ON VIEW feishu.people IS 'Current users with their manager''s name and their departments'' names';
COMMENT ON COLUMN feishu.people.id IS 'The user; joins every user column';
COMMENT ON COLUMN feishu.people.name IS 'Name';
COMMENT ON COLUMN feishu.people.en_name IS 'English name';
COMMENT ON COLUMN feishu.people.email IS 'Email';
COMMENT ON COLUMN feishu.people.job_title IS 'Job title';
COMMENT ON COLUMN feishu.people.employee_no IS 'Employee number';
COMMENT ON COLUMN feishu.people.employee_type IS '1 = full-time, 2 = intern, 3 = outsourced, 4 = contract labour, 5 = consultant';
COMMENT ON COLUMN feishu.people.city IS 'Work city';
COMMENT ON COLUMN feishu.people.country IS 'Country code';
COMMENT ON COLUMN feishu.people.join_time IS 'When the user joined';
COMMENT ON COLUMN feishu.people.leader_user_id IS 'Direct manager''s id';
COMMENT ON COLUMN feishu.people.leader_name IS 'Direct manager''s name';
COMMENT ON COLUMN feishu.people.department_ids IS 'Departments the user belongs to (open_department_id), sorted by name; empty for users directly at the root';
COMMENT ON COLUMN feishu.people.department_names IS 'Their names, in the same order';
COMMENT ON COLUMN feishu.people.is_frozen IS 'Whether the account is suspended';

CREATE VIEW feishu.approval_backlog AS
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
       a.synced_at AS last_changed_at
  FROM feishu.approval_tasks a
  LEFT JOIN feishu.people p ON p.id = a.user_id
 WHERE a.topic = '1' AND a.deleted_at IS NULL;
COMMENT ON VIEW feishu.approval_backlog IS
    'Approval tasks waiting in someone''s to-do list (topic 1), with the assignee''s name and departments';
COMMENT ON COLUMN feishu.approval_backlog.assignee_id IS 'Who has to act; joins feishu.users.id';
COMMENT ON COLUMN feishu.approval_backlog.assignee_name IS 'Their name (NULL if the directory does not know them)';
COMMENT ON COLUMN feishu.approval_backlog.assignee_departments IS 'Their departments'' names';
COMMENT ON COLUMN feishu.approval_backlog.task_id IS 'The approval task';
COMMENT ON COLUMN feishu.approval_backlog.title IS 'Its title';
COMMENT ON COLUMN feishu.approval_backlog.definition_name IS 'The approval definition, e.g. Leave request';
COMMENT ON COLUMN feishu.approval_backlog.definition_code IS 'Code of the definition';
COMMENT ON COLUMN feishu.approval_backlog.process_id IS 'The process instance';
COMMENT ON COLUMN feishu.approval_backlog.initiators IS 'Who started it';
COMMENT ON COLUMN feishu.approval_backlog.initiator_names IS 'Their names';
COMMENT ON COLUMN feishu.approval_backlog.url_pc IS 'Link to the task';
COMMENT ON COLUMN feishu.approval_backlog.last_changed_at IS 'When feishu-sync last saw the task change';

CREATE VIEW feishu.stage_task_progress AS
SELECT t.semester_id,
       s.name_en AS semester_name_en,
       s.name_zh AS semester_name_zh,
       t.stage_id,
       min(t.name_en) AS stage_name_en,
       min(t.name_zh) AS stage_name_zh,
       min(t.deadline) AS deadline,
       count(*) AS users_total,
       count(*) FILTER (WHERE t.task_option_id = 2) AS users_done,
       count(*) FILTER (WHERE t.task_option_id = 1) AS users_to_do,
       count(*) FILTER (WHERE t.task_option_id = 3) AS users_overdue
  FROM feishu.stage_tasks t
  LEFT JOIN feishu.semesters s ON s.id = t.semester_id
 WHERE t.deleted_at IS NULL
 GROUP BY t.semester_id, s.name_en, s.name_zh, t.stage_id;
COMMENT ON VIEW feishu.stage_task_progress IS 'Per semester and stage: how many users are done, still to do, overdue';
COMMENT ON COLUMN feishu.stage_task_progress.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.stage_task_progress.semester_name_en IS 'Semester name in English';
COMMENT ON COLUMN feishu.stage_task_progress.semester_name_zh IS 'Semester name in Chinese';
COMMENT ON COLUMN feishu.stage_task_progress.stage_id IS 'The stage';
COMMENT ON COLUMN feishu.stage_task_progress.stage_name_en IS 'Stage name in English';
COMMENT ON COLUMN feishu.stage_task_progress.stage_name_zh IS 'Stage name in Chinese';
COMMENT ON COLUMN feishu.stage_task_progress.deadline IS 'The stage''s deadline';
COMMENT ON COLUMN feishu.stage_task_progress.users_total IS 'Users with a task in the stage';
COMMENT ON COLUMN feishu.stage_task_progress.users_done IS 'Of those, done (task_option_id 2)';
COMMENT ON COLUMN feishu.stage_task_progress.users_to_do IS 'Still to do, deadline not passed (task_option_id 1)';
COMMENT ON COLUMN feishu.stage_task_progress.users_overdue IS 'Overdue (task_option_id 3)';
