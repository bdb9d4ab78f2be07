-- The directory tells the truth: every status flag of a user, the fields the contact v3
-- documents define beside them, the departments' leaders, primary member count and
-- order, and a people view that counts only people who have joined and not left.

ALTER TABLE feishu.users
    ADD COLUMN is_exited boolean,
    ADD COLUMN is_unjoin boolean,
    ADD COLUMN gender integer,
    ADD COLUMN job_level_id text,
    ADD COLUMN job_family_id text,
    ADD COLUMN dotted_line_leader_user_ids text[];
ALTER TABLE feishu.users_history
    ADD COLUMN is_exited boolean,
    ADD COLUMN is_unjoin boolean,
    ADD COLUMN gender integer,
    ADD COLUMN job_level_id text,
    ADD COLUMN job_family_id text,
    ADD COLUMN dotted_line_leader_user_ids text[];

ALTER TABLE feishu.departments
    ADD COLUMN leader_user_ids text[],
    ADD COLUMN deputy_leader_user_ids text[],
    ADD COLUMN primary_member_count integer,
    ADD COLUMN sort_order bigint;
ALTER TABLE feishu.departments_history
    ADD COLUMN leader_user_ids text[],
    ADD COLUMN deputy_leader_user_ids text[],
    ADD COLUMN primary_member_count integer,
    ADD COLUMN sort_order bigint;

COMMENT ON COLUMN feishu.users.is_activated IS
    'Whether the account is activated (source: status.is_activated; needs scope contact:user.employee:readonly, NULL without it). A user not yet activated still counts as staff';
COMMENT ON COLUMN feishu.users.is_frozen IS
    'Whether the account is suspended (source: status.is_frozen; needs scope contact:user.employee:readonly, NULL without it). A frozen user still counts as staff';
COMMENT ON COLUMN feishu.users.is_resigned IS
    'Whether the user has resigned (source: status.is_resigned; needs scope contact:user.employee:readonly, NULL without it). Resigned users stop being listed, so their rows get deleted_at; a resigned user does not count as staff';
COMMENT ON COLUMN feishu.users.is_exited IS
    'Whether the user has left the tenant of their own accord (source: status.is_exited; needs scope contact:user.employee:readonly, NULL without it). An exited user does not count as staff';
COMMENT ON COLUMN feishu.users.is_unjoin IS
    'Whether the user was invited but has not joined yet (source: status.is_unjoin; needs scope contact:user.employee:readonly, NULL without it). A user who has not joined does not count as staff';
COMMENT ON COLUMN feishu.users.gender IS
    'Gender (source: gender; needs scope contact:user.gender:readonly): 0 = not disclosed, 1 = male, 2 = female, 3 = other';
COMMENT ON COLUMN feishu.users.job_level_id IS
    'The user''s job level (source: job_level_id; needs scope contact:user.job_level:readonly)';
COMMENT ON COLUMN feishu.users.job_family_id IS
    'The user''s job family (source: job_family_id; needs scope contact:user.job_family:readonly)';
COMMENT ON COLUMN feishu.users.dotted_line_leader_user_ids IS
    'Dotted-line managers (source: dotted_line_leader_user_ids; needs scope contact:user.dotted_line_leader_info.read); each joins feishu.users.id';
COMMENT ON COLUMN feishu.departments.leader_user_ids IS
    'The department''s main leaders (source: leaders[] with leaderType 1, their leaderID); each joins feishu.users.id';
COMMENT ON COLUMN feishu.departments.deputy_leader_user_ids IS
    'The department''s deputy leaders (source: leaders[] with leaderType 2, their leaderID); each joins feishu.users.id';
COMMENT ON COLUMN feishu.departments.primary_member_count IS
    'Users whose primary department is this department or one below it (source: primary_member_count): each person counted once';
COMMENT ON COLUMN feishu.departments.sort_order IS
    'Where the department sorts among its siblings (source: order, a numeric string)';

-- The history keeps the new columns: each version table gains them, and its triggers
-- copy them (the functions are made again with every column of the table).
DO $migration$
DECLARE
    t text;
    keys text[];
    cols text[];
    key_match text;
    hist_match text;
    col_list text;
    n_cols text;
    set_list text;
    key_list text;
BEGIN
    FOREACH t IN ARRAY ARRAY['departments', 'users'] LOOP
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
        SELECT string_agg(format('%I', k), ', ') INTO key_list FROM unnest(keys) k;

        EXECUTE format($f$
            CREATE OR REPLACE FUNCTION feishu.%1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                INSERT INTO feishu.%2$I (%3$s, valid_from)
                SELECT %4$s, now() FROM inserted n WHERE n.deleted_at IS NULL
                ON CONFLICT (%5$s, valid_from) DO UPDATE SET %6$s, valid_to = NULL;
                RETURN NULL;
            END $body$$f$,
            t || '_history_on_insert', t || '_history', col_list, n_cols, key_list, set_list);
        EXECUTE format($f$
            CREATE OR REPLACE FUNCTION feishu.%1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
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
            key_list, set_list);
        EXECUTE (SELECT string_agg(format('COMMENT ON COLUMN feishu.%I.%I IS %L', t || '_history', c,
                                          col_description(format('feishu.%I', t)::regclass, a.attnum)), '; ')
                   FROM unnest(cols) c
                   JOIN pg_attribute a ON a.attrelid = format('feishu.%I', t)::regclass AND a.attname = c);
    END LOOP;
END $migration$;

-- People who count: joined and not left. A NULL flag (a field scope hid it) counts.
-- Keeps the columns of 20261202021001 (root label, employee_type_label) in their places.
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
       END AS employee_type_label,
       min(d.id) FILTER (WHERE ud.is_primary) AS primary_department_id,
       min(d.name) FILTER (WHERE ud.is_primary) AS primary_department_name,
       u.is_activated
  FROM feishu.users u
  LEFT JOIN feishu.user_departments ud ON ud.user_id = u.id
  LEFT JOIN feishu.departments d ON d.id = ud.department_id AND d.deleted_at IS NULL
  LEFT JOIN feishu.users leader ON leader.id = u.leader_user_id
 WHERE u.deleted_at IS NULL
   AND u.is_resigned IS NOT TRUE AND u.is_exited IS NOT TRUE AND u.is_unjoin IS NOT TRUE
 GROUP BY u.id, leader.name;
COMMENT ON VIEW feishu.people IS
    'People who count as staff: current users who have joined and not left (a user counts unless is_resigned, is_exited or is_unjoin is true; frozen and not yet activated accounts count, and so does a flag that is NULL because a field scope hid it), with their manager''s name and their departments. Count per department with primary_department_id: each person once';
COMMENT ON COLUMN feishu.people.primary_department_id IS
    'The user''s primary department (user_departments.is_primary); NULL for users at the root or when the scope that returns orders is missing. Per-department headcounts group by it, so a person in two departments counts once';
COMMENT ON COLUMN feishu.people.primary_department_name IS 'Its name';
COMMENT ON COLUMN feishu.people.is_activated IS 'Whether the account is activated (an account not yet activated still counts)';
