-- Change history of the performance-result tables, made exactly as
-- 20261130000004_history.sql makes it for the older entity tables: T_history with
-- valid_from/valid_to, statement-level triggers writing versions in the upsert's own
-- statement, and T_at(timestamptz) for as-of queries. A calibration that changes a final
-- level shows here as a new version of the review item.

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
    FOREACH t IN ARRAY ARRAY['reviewees', 'review_stages', 'review_items', 'metric_details',
                             'metric_detail_fields', 'indicators', 'indicator_options',
                             'metric_fields'] LOOP

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
