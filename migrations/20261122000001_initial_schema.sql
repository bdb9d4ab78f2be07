-- feishu-sync schema. Every table mirrors one Feishu list endpoint; `raw` keeps the record
-- exactly as received, typed columns are derived from it, `deleted_at` marks rows a complete
-- read of their partition no longer returned, `synced_at` is when the row last changed here.

CREATE SCHEMA IF NOT EXISTS feishu;

-- Performance semesters (GET /open-apis/performance/v1/semesters).
CREATE TABLE feishu.semesters (
    id              text PRIMARY KEY,
    year            integer,
    type_group      text,
    type            text,
    name_zh         text,
    name_en         text,
    progress        text,
    start_time      timestamptz,
    end_time        timestamptz,
    create_time     timestamptz,
    modify_time     timestamptz,
    create_user_id  text,
    modify_user_id  text,
    raw             jsonb NOT NULL,
    deleted_at      timestamptz,
    synced_at       timestamptz NOT NULL DEFAULT now()
);

-- Performance activities (POST /open-apis/performance/v2/activity/query).
CREATE TABLE feishu.activities (
    id              text PRIMARY KEY,
    semester_id     text NOT NULL REFERENCES feishu.semesters (id),
    name_zh         text,
    name_en         text,
    description_zh  text,
    description_en  text,
    mode            text,
    progress        text,
    create_time     timestamptz,
    modify_time     timestamptz,
    create_user_id  text,
    modify_user_id  text,
    raw             jsonb NOT NULL,
    deleted_at      timestamptz,
    synced_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activities_semester_id_idx ON feishu.activities (semester_id);

-- One user's task in one stage of a semester
-- (POST /open-apis/performance/v1/stage_tasks/find_by_page, items[].stage_task_info_lists[]).
CREATE TABLE feishu.stage_tasks (
    semester_id       text NOT NULL REFERENCES feishu.semesters (id),
    user_id           text NOT NULL,
    stage_id          text NOT NULL,
    name_zh           text,
    name_en           text,
    deadline          timestamptz,
    need_todo_count   integer,
    jump_url          text,
    stage_task_status text,
    task_option_id    integer,
    raw               jsonb NOT NULL,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (semester_id, user_id, stage_id)
);
CREATE INDEX stage_tasks_user_id_idx ON feishu.stage_tasks (user_id);
CREATE INDEX stage_tasks_deadline_idx ON feishu.stage_tasks (semester_id, deadline);

-- Per user and task category, how many stage tasks the last read of the whole semester
-- reported (items[].stage_num_lists[]). Incremental reads filter by deadline, so they do not
-- update these counts; a backfill does.
CREATE TABLE feishu.stage_task_counts (
    semester_id        text NOT NULL REFERENCES feishu.semesters (id),
    user_id            text NOT NULL,
    task_option_id     integer NOT NULL,
    stage_num          integer,
    raw                jsonb NOT NULL,
    deleted_at         timestamptz,
    synced_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (semester_id, user_id, task_option_id)
);

-- Approval tasks of one user in one topic (GET /open-apis/approval/v4/tasks/query).
CREATE TABLE feishu.approval_tasks (
    user_id               text NOT NULL,
    topic                 text NOT NULL,
    task_id               text NOT NULL,
    title                 text,
    url_helpdesk          text,
    url_mobile            text,
    url_pc                text,
    process_external_id   text,
    task_external_id      text,
    status                text,
    process_status        text,
    definition_code       text,
    initiators            text[],
    initiator_names       text[],
    process_id            text,
    process_code          text,
    definition_group_id   text,
    definition_group_name text,
    definition_id         text,
    definition_name       text,
    raw                   jsonb NOT NULL,
    deleted_at            timestamptz,
    synced_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, topic, task_id)
);
CREATE INDEX approval_tasks_task_id_idx ON feishu.approval_tasks (task_id);
CREATE INDEX approval_tasks_process_id_idx ON feishu.approval_tasks (process_id);

-- Task v1 tasks the app created (GET /open-apis/task/v1/tasks).
CREATE TABLE feishu.tasks (
    id                   text PRIMARY KEY,
    summary              text,
    description          text,
    creator_id           text,
    create_time          timestamptz,
    update_time          timestamptz,
    complete_time        timestamptz,
    due_time             timestamptz,
    due_timezone         text,
    due_is_all_day       boolean,
    can_edit             boolean,
    source               integer,
    repeat_rule          text,
    extra                text,
    custom               text,
    origin_platform_zh   text,
    origin_platform_en   text,
    origin_href_title    text,
    origin_href_url      text,
    raw                  jsonb NOT NULL,
    deleted_at           timestamptz,
    synced_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_create_time_idx ON feishu.tasks (create_time);
CREATE INDEX tasks_creator_id_idx ON feishu.tasks (creator_id);

CREATE TABLE feishu.task_collaborators (
    task_id text NOT NULL REFERENCES feishu.tasks (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_collaborators_user_id_idx ON feishu.task_collaborators (user_id);

CREATE TABLE feishu.task_followers (
    task_id text NOT NULL REFERENCES feishu.tasks (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_followers_user_id_idx ON feishu.task_followers (user_id);

-- Watermarks: one row per stream and partition ('' when the stream has one partition).
CREATE TABLE feishu.sync_state (
    stream           text NOT NULL,
    partition_key    text NOT NULL,
    watermark        timestamptz,
    last_complete_at timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, partition_key)
);

-- One row per run of one stream.
CREATE TABLE feishu.sync_runs (
    id           bigserial PRIMARY KEY,
    stream       text NOT NULL,
    backfill     boolean NOT NULL DEFAULT false,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'interrupted', 'abandoned')),
    pages        integer NOT NULL DEFAULT 0,
    rows_written bigint NOT NULL DEFAULT 0,
    rows_retired bigint NOT NULL DEFAULT 0,
    requests     bigint NOT NULL DEFAULT 0,
    error        text
);
CREATE INDEX sync_runs_stream_started_idx ON feishu.sync_runs (stream, started_at DESC);
