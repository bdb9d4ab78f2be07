-- Change history: how every row of an entity table looked at any time. The API gives no
-- timestamps for approval tasks and only states for stage tasks, so durations and trends
-- exist only if feishu-sync records what it observes.
--
-- For each entity table T:
--   * T.first_seen_at: when feishu-sync first saw the row (existing rows: their synced_at);
--   * T_history: one row per version: T's key, typed columns and raw, with valid_from and
--     valid_to (NULL while current);
--   * statement-level triggers with transition tables write the versions in the same
--     statement, so in the same transaction as the upsert: a crash can never leave them
--     apart. The upserts update a row only when its content changed (raw IS DISTINCT
--     FROM) or it comes back, so an unchanged row writes no version, and a no-change run
--     writes nothing at all. valid_from is now(): the transaction's time, the same for a
--     whole page;
--   * T_at(timestamptz): the table as it was at that time.

DO $migration$
DECLARE
    t text;
    keys text[];
    cols text[];
    key_match text;     -- n.k = o.k AND ...
    hist_match text;    -- h.k = n.k AND ...
    col_list text;      -- a, b, c
    n_cols text;        -- n.a, n.b, n.c
    set_list text;      -- a = EXCLUDED.a, ...
BEGIN
    FOREACH t IN ARRAY ARRAY['semesters', 'activities', 'stage_tasks', 'approval_tasks',
                             'tasks', 'departments', 'users'] LOOP
        EXECUTE format('ALTER TABLE feishu.%I ADD COLUMN first_seen_at timestamptz', t);
        EXECUTE format('UPDATE feishu.%I SET first_seen_at = synced_at', t);
        EXECUTE format('ALTER TABLE feishu.%I ALTER COLUMN first_seen_at SET DEFAULT now(),
                                                ALTER COLUMN first_seen_at SET NOT NULL', t);
        EXECUTE format($c$COMMENT ON COLUMN feishu.%I.first_seen_at IS
            'When feishu-sync first saw the row (for rows older than the history: when it last changed before)'$c$, t);

        SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey, a.attnum))
          INTO keys
          FROM pg_index i
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = format('feishu.%I', t)::regclass AND i.indisprimary;
        SELECT array_agg(a.attname::text ORDER BY a.attnum)
          INTO cols
          FROM pg_attribute a
         WHERE a.attrelid = format('feishu.%I', t)::regclass AND a.attnum > 0
           AND NOT a.attisdropped
           AND a.attname NOT IN ('deleted_at', 'synced_at', 'first_seen_at');
        SELECT string_agg(format('n.%1$I = o.%1$I', k), ' AND ') INTO key_match FROM unnest(keys) k;
        SELECT string_agg(format('h.%1$I = n.%1$I', k), ' AND ') INTO hist_match FROM unnest(keys) k;
        SELECT string_agg(format('%I', c), ', ') INTO col_list FROM unnest(cols) c;
        SELECT string_agg(format('n.%I', c), ', ') INTO n_cols FROM unnest(cols) c;
        SELECT string_agg(format('%1$I = EXCLUDED.%1$I', c), ', ') INTO set_list FROM unnest(cols) c;

        EXECUTE format('CREATE TABLE feishu.%1$I (LIKE feishu.%2$I)', t || '_history', t);
        EXECUTE format('ALTER TABLE feishu.%1$I DROP COLUMN deleted_at, DROP COLUMN synced_at,
                            DROP COLUMN first_seen_at,
                            ADD COLUMN valid_from timestamptz NOT NULL,
                            ADD COLUMN valid_to timestamptz,
                            ADD PRIMARY KEY (%2$s, valid_from)',
                       t || '_history', (SELECT string_agg(format('%I', k), ', ') FROM unnest(keys) k));
        -- As-of queries: the versions that began by a time, then those not yet ended.
        EXECUTE format('CREATE INDEX %1$I ON feishu.%2$I (valid_from, valid_to)',
                       t || '_history_valid_idx', t || '_history');
        EXECUTE format($c$COMMENT ON TABLE feishu.%1$I IS %2$L$c$, t || '_history',
            format('Every version of feishu.%s: a new one when a row is first seen, changes or comes back; '
                   'valid_to closes it when it changes or is retired. Key: (%s, valid_from)',
                   t, array_to_string(keys, ', ')));
        EXECUTE format($c$COMMENT ON COLUMN feishu.%I.valid_from IS
            'When feishu-sync observed this version (the time of the page that brought it)'$c$, t || '_history');
        EXECUTE format($c$COMMENT ON COLUMN feishu.%I.valid_to IS
            'When the next version was observed or the row was retired; NULL while this version is current'$c$, t || '_history');
        EXECUTE (SELECT string_agg(format('COMMENT ON COLUMN feishu.%I.%I IS %L', t || '_history', c,
                                          col_description(format('feishu.%I', t)::regclass, a.attnum)), '; ')
                   FROM unnest(cols) c
                   JOIN pg_attribute a ON a.attrelid = format('feishu.%I', t)::regclass AND a.attname = c);

        -- Rows seen for the first time open their first version.
        EXECUTE format($f$
            CREATE FUNCTION feishu.%1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                INSERT INTO feishu.%2$I (%3$s, valid_from)
                SELECT %4$s, now() FROM inserted n WHERE n.deleted_at IS NULL
                ON CONFLICT (%5$s, valid_from) DO UPDATE SET %6$s, valid_to = NULL;
                RETURN NULL;
            END $body$$f$,
            t || '_history_on_insert', t || '_history', col_list, n_cols,
            (SELECT string_agg(format('%I', k), ', ') FROM unnest(keys) k), set_list);
        EXECUTE format('CREATE TRIGGER history_on_insert AFTER INSERT ON feishu.%1$I
                            REFERENCING NEW TABLE AS inserted
                            FOR EACH STATEMENT EXECUTE FUNCTION feishu.%2$I()',
                       t, t || '_history_on_insert');

        -- A changed or retired row closes its open version; a changed row or one that
        -- comes back opens a new one.
        EXECUTE format($f$
            CREATE FUNCTION feishu.%1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                UPDATE feishu.%2$I h SET valid_to = now()
                  FROM new_rows n JOIN old_rows o ON %3$s
                 WHERE %4$s AND h.valid_to IS NULL AND o.deleted_at IS NULL
                   AND (n.deleted_at IS NOT NULL OR n.raw IS DISTINCT FROM o.raw);
                INSERT INTO feishu.%2$I (%5$s, valid_from)
                SELECT %6$s, now() FROM new_rows n JOIN old_rows o ON %3$s
                 WHERE n.deleted_at IS NULL
                   AND (o.deleted_at IS NOT NULL OR n.raw IS DISTINCT FROM o.raw)
                ON CONFLICT (%7$s, valid_from) DO UPDATE SET %8$s, valid_to = NULL;
                RETURN NULL;
            END $body$$f$,
            t || '_history_on_update', t || '_history', key_match, hist_match, col_list, n_cols,
            (SELECT string_agg(format('%I', k), ', ') FROM unnest(keys) k), set_list);
        EXECUTE format('CREATE TRIGGER history_on_update AFTER UPDATE ON feishu.%1$I
                            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                            FOR EACH STATEMENT EXECUTE FUNCTION feishu.%2$I()',
                       t, t || '_history_on_update');

        -- The history starts with today's rows, as of when they last changed.
        EXECUTE format('INSERT INTO feishu.%1$I (%2$s, valid_from) SELECT %2$s, synced_at
                          FROM feishu.%3$I WHERE deleted_at IS NULL',
                       t || '_history', col_list, t);

        -- The table as it was at a time.
        EXECUTE format($f$
            CREATE FUNCTION feishu.%1$I(at timestamptz) RETURNS SETOF feishu.%2$I
            LANGUAGE sql STABLE AS $body$
                SELECT * FROM feishu.%2$I WHERE valid_from <= at AND (valid_to IS NULL OR valid_to > at)
            $body$$f$, t || '_at', t || '_history');
        EXECUTE format($c$COMMENT ON FUNCTION feishu.%1$I(timestamptz) IS
            'feishu.%2$s as it was at the given time (versions valid then), e.g. SELECT * FROM feishu.%1$s(now() - interval ''7 days'')'$c$,
            t || '_at', t);
    END LOOP;
END $migration$;

-- Per approval task and user: when it was first seen, when its status last changed, and
-- how long it has been (or was) in the list.
CREATE VIEW feishu.approval_task_durations AS
WITH versions AS (
    SELECT h.*,
           lag(h.status) OVER w AS previous_status,
           row_number() OVER (PARTITION BY h.user_id, h.topic, h.task_id ORDER BY h.valid_from DESC) AS newest
      FROM feishu.approval_tasks_history h
    WINDOW w AS (PARTITION BY h.user_id, h.topic, h.task_id ORDER BY h.valid_from)
)
SELECT v.user_id,
       v.topic,
       v.task_id,
       min(v.title) FILTER (WHERE v.newest = 1) AS title,
       min(v.definition_name) FILTER (WHERE v.newest = 1) AS definition_name,
       min(v.status) FILTER (WHERE v.newest = 1) AS status,
       min(v.valid_from) AS first_seen_at,
       max(v.valid_from) FILTER (WHERE v.previous_status IS DISTINCT FROM v.status) AS status_changed_at,
       bool_or(v.valid_to IS NULL) AS still_listed,
       CASE WHEN bool_or(v.valid_to IS NULL) THEN NULL ELSE max(v.valid_to) END AS left_list_at,
       CASE WHEN bool_or(v.valid_to IS NULL) THEN now() ELSE max(v.valid_to) END - min(v.valid_from)
           AS listed_for
  FROM versions v
 GROUP BY v.user_id, v.topic, v.task_id;
COMMENT ON VIEW feishu.approval_task_durations IS
    'Per approval task and user list: first seen, last status change, and how long it has been (or was) listed; for the to-do topic 1, how long it waited for the user';
COMMENT ON COLUMN feishu.approval_task_durations.user_id IS 'The user whose list holds the task; joins feishu.users.id';
COMMENT ON COLUMN feishu.approval_task_durations.topic IS 'The list: 1 = to do, 2 = done, 3 = initiated, 17 = unread CC, 18 = read CC';
COMMENT ON COLUMN feishu.approval_task_durations.task_id IS 'The approval task';
COMMENT ON COLUMN feishu.approval_task_durations.title IS 'Its title, as last seen';
COMMENT ON COLUMN feishu.approval_task_durations.definition_name IS 'The approval definition, as last seen';
COMMENT ON COLUMN feishu.approval_task_durations.status IS 'Status as last seen (see feishu.approval_tasks.status)';
COMMENT ON COLUMN feishu.approval_task_durations.first_seen_at IS 'When feishu-sync first saw the task in this list';
COMMENT ON COLUMN feishu.approval_task_durations.status_changed_at IS 'When the status last changed (the first version counts as a change)';
COMMENT ON COLUMN feishu.approval_task_durations.still_listed IS 'Whether the task is still in the list';
COMMENT ON COLUMN feishu.approval_task_durations.left_list_at IS 'When it left the list (retired); NULL while listed';
COMMENT ON COLUMN feishu.approval_task_durations.listed_for IS 'How long it has been in the list (until now while listed)';

-- Each stage-task status transition with its time.
CREATE VIEW feishu.stage_task_status_changes AS
SELECT v.semester_id,
       v.user_id,
       v.stage_id,
       v.name_en AS stage_name_en,
       v.previous_status AS from_status,
       v.stage_task_status AS to_status,
       v.valid_from AS changed_at
  FROM (SELECT h.*, lag(h.stage_task_status) OVER (
                   PARTITION BY h.semester_id, h.user_id, h.stage_id ORDER BY h.valid_from) AS previous_status
          FROM feishu.stage_tasks_history h) v
 WHERE v.previous_status IS DISTINCT FROM v.stage_task_status;
COMMENT ON VIEW feishu.stage_task_status_changes IS
    'Each stage-task status transition, with when feishu-sync observed it; from_status NULL is the first sighting';
COMMENT ON COLUMN feishu.stage_task_status_changes.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.stage_task_status_changes.user_id IS 'The user; joins feishu.users.id';
COMMENT ON COLUMN feishu.stage_task_status_changes.stage_id IS 'The stage';
COMMENT ON COLUMN feishu.stage_task_status_changes.stage_name_en IS 'Stage name in English';
COMMENT ON COLUMN feishu.stage_task_status_changes.from_status IS 'Status before (need_todo, overdue, all_done, stage_pause); NULL when first seen';
COMMENT ON COLUMN feishu.stage_task_status_changes.to_status IS 'Status after';
COMMENT ON COLUMN feishu.stage_task_status_changes.changed_at IS 'When the new status was observed';
