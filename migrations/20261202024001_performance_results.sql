-- Performance results: who is reviewed (reviewees), what each stage's reviewers answered
-- (review_stages, review_items), metric values (metric_details, metric_detail_fields) and
-- the two dictionaries their ids need (indicators with their level options, metric
-- fields). One owner each: reviewees, review_data, metric_details, indicators and
-- metric_fields. Ids are text, as the API sends them.

CREATE TABLE feishu.reviewees (
    semester_id       text NOT NULL,
    user_id           text NOT NULL,
    activity_ids      text[] NOT NULL DEFAULT '{}',
    reviewprofile_url text,
    raw               jsonb NOT NULL,
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    synced_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    PRIMARY KEY (semester_id, user_id)
);
COMMENT ON TABLE feishu.reviewees IS
    'Who is reviewed in which semester (performance/v2/reviewees/query), unstarted activities included. Key: (semester_id, user_id)';
COMMENT ON COLUMN feishu.reviewees.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.reviewees.user_id IS 'The reviewee (reviewee_user_id, of feishu.user_id_type); joins feishu.users.id';
COMMENT ON COLUMN feishu.reviewees.activity_ids IS 'The activities of the semester the person is reviewed in; joins feishu.activities.id';
COMMENT ON COLUMN feishu.reviewees.reviewprofile_url IS 'Link to the reviewee''s review profile in Feishu Performance';
COMMENT ON COLUMN feishu.reviewees.raw IS 'The record as received';
COMMENT ON COLUMN feishu.reviewees.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.reviewees.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.reviewees.deleted_at IS 'When a complete pass over the semester no longer listed the person (or the semester was retired); NULL while current';

CREATE TABLE feishu.review_stages (
    semester_id        text NOT NULL,
    reviewee_user_id   text NOT NULL,
    stage_id           text NOT NULL,
    activity_id        text,
    review_template_id text,
    stage_type         text,
    review_stage_role  text,
    review_stage_roles text[] NOT NULL DEFAULT '{}',
    template_id        text,
    raw                jsonb NOT NULL,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    synced_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    PRIMARY KEY (semester_id, reviewee_user_id, stage_id)
);
COMMENT ON TABLE feishu.review_stages IS
    'One stage of one reviewee''s review (performance/v2/review_datas/query, calibration excluded): its type and executor role. Key: (semester_id, reviewee_user_id, stage_id)';
COMMENT ON COLUMN feishu.review_stages.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.review_stages.reviewee_user_id IS 'The reviewee; joins feishu.users.id and feishu.reviewees';
COMMENT ON COLUMN feishu.review_stages.stage_id IS 'The stage';
COMMENT ON COLUMN feishu.review_stages.activity_id IS 'The activity the review belongs to; joins feishu.activities.id';
COMMENT ON COLUMN feishu.review_stages.review_template_id IS 'The review template of the reviewee''s profile';
COMMENT ON COLUMN feishu.review_stages.stage_type IS
    'summarize_key_outputs, review (self, manager, 360 ... reviews), communication_and_open_result, view_result, reconsideration, leader_review (the final result)';
COMMENT ON COLUMN feishu.review_stages.review_stage_role IS
    'For review stages: whose review it is: reviewee (self review), solid_line_leader (manager), invited_reviewer (360), dotted_line_leader, secondary_solid_line_leader, direct_project_leader, custom_review_role, metric_reviewer';
COMMENT ON COLUMN feishu.review_stages.review_stage_roles IS 'Every executor role of the stage, as the API lists them';
COMMENT ON COLUMN feishu.review_stages.template_id IS 'The template of the stage';
COMMENT ON COLUMN feishu.review_stages.raw IS 'The stage as received, its records included';
COMMENT ON COLUMN feishu.review_stages.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.review_stages.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.review_stages.deleted_at IS 'When a complete read (not an incremental one) no longer returned the stage, or its reviewee was retired; NULL while current';

CREATE TABLE feishu.review_items (
    semester_id                text NOT NULL,
    reviewee_user_id           text NOT NULL,
    stage_id                   text NOT NULL,
    record_id                  text NOT NULL,
    unit_id                    text NOT NULL,
    field_id                   text NOT NULL,
    reviewer_user_id           text NOT NULL,
    record_progress            integer,
    is_unknown                 boolean,
    indicator_id               text,
    option_id                  text,
    score                      double precision,
    text                       text,
    tag_based_question_id      text,
    perf_coefficient_value     text,
    leader_review_data_source  text,
    is_principal_review_item   boolean,
    submit_time                timestamptz,
    raw                        jsonb NOT NULL,
    first_seen_at              timestamptz NOT NULL DEFAULT now(),
    synced_at                  timestamptz NOT NULL DEFAULT now(),
    deleted_at                 timestamptz,
    PRIMARY KEY (semester_id, reviewee_user_id, stage_id, record_id, unit_id, field_id, reviewer_user_id)
);
CREATE INDEX review_items_stage_idx ON feishu.review_items (semester_id, reviewee_user_id, stage_id);
COMMENT ON TABLE feishu.review_items IS
    'One answer of one reviewer in one stage: an indicator''s level or score, a question''s text, a metric. Key: (semester_id, reviewee_user_id, stage_id, record_id, unit_id, field_id, reviewer_user_id)';
COMMENT ON COLUMN feishu.review_items.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.review_items.reviewee_user_id IS 'The reviewee; joins feishu.users.id';
COMMENT ON COLUMN feishu.review_items.stage_id IS 'The stage; joins feishu.review_stages';
COMMENT ON COLUMN feishu.review_items.record_id IS 'The review record (one per reviewer of a multi-reviewer stage); empty when the API gives none';
COMMENT ON COLUMN feishu.review_items.unit_id IS 'The unit of the template the item belongs to; empty when the API gives none';
COMMENT ON COLUMN feishu.review_items.field_id IS 'The item (field) of the template';
COMMENT ON COLUMN feishu.review_items.reviewer_user_id IS 'Who answered (reviewer_user_id, or the invited reviewer of the record); joins feishu.users.id; empty when the API gives none';
COMMENT ON COLUMN feishu.review_items.record_progress IS 'Progress of the record, as the API codes it';
COMMENT ON COLUMN feishu.review_items.is_unknown IS 'Whether the unit is one the API could not name (is_unknown)';
COMMENT ON COLUMN feishu.review_items.indicator_id IS 'The indicator answered; joins feishu.indicators.id';
COMMENT ON COLUMN feishu.review_items.option_id IS 'The level chosen; joins feishu.indicator_options (indicator_id, option_id) for its code and name';
COMMENT ON COLUMN feishu.review_items.score IS 'The score given; NULL when none or not a number (raw keeps it)';
COMMENT ON COLUMN feishu.review_items.text IS 'The text answered';
COMMENT ON COLUMN feishu.review_items.tag_based_question_id IS 'The tag question answered';
COMMENT ON COLUMN feishu.review_items.perf_coefficient_value IS 'The performance coefficient, as sent';
COMMENT ON COLUMN feishu.review_items.leader_review_data_source IS 'For the final result: which stage produced it (review, calibaration, reconsideration), when asked for';
COMMENT ON COLUMN feishu.review_items.is_principal_review_item IS 'Whether this is the stage''s own (overall) level or score, the one the views report';
COMMENT ON COLUMN feishu.review_items.submit_time IS 'When the answer was submitted';
COMMENT ON COLUMN feishu.review_items.raw IS 'The item as received';
COMMENT ON COLUMN feishu.review_items.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.review_items.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.review_items.deleted_at IS 'When its stage came back without it, a complete read no longer returned it, or its reviewee was retired; NULL while current';

CREATE TABLE feishu.metric_details (
    semester_id             text NOT NULL,
    reviewee_user_id        text NOT NULL,
    metric_id               text NOT NULL,
    metric_template_id      text,
    name                    text,
    dimension_id            text,
    dimension_name_zh       text,
    dimension_name_en       text,
    dimension_weight        double precision,
    add_from                text,
    is_from_library         boolean,
    reviewee_stage_statuses jsonb NOT NULL DEFAULT '[]',
    raw                     jsonb NOT NULL,
    first_seen_at           timestamptz NOT NULL DEFAULT now(),
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (semester_id, reviewee_user_id, metric_id)
);
COMMENT ON TABLE feishu.metric_details IS
    'One metric (KPI) of one reviewee in one semester (performance/v2/metric_details/query): its dimension, weight and stage statuses. Key: (semester_id, reviewee_user_id, metric_id)';
COMMENT ON COLUMN feishu.metric_details.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.metric_details.reviewee_user_id IS 'The reviewee; joins feishu.users.id';
COMMENT ON COLUMN feishu.metric_details.metric_id IS 'The metric';
COMMENT ON COLUMN feishu.metric_details.metric_template_id IS 'The metric template of the reviewee';
COMMENT ON COLUMN feishu.metric_details.name IS 'Metric name';
COMMENT ON COLUMN feishu.metric_details.dimension_id IS 'The dimension the metric belongs to';
COMMENT ON COLUMN feishu.metric_details.dimension_name_zh IS 'Dimension name in Chinese';
COMMENT ON COLUMN feishu.metric_details.dimension_name_en IS 'Dimension name in English';
COMMENT ON COLUMN feishu.metric_details.dimension_weight IS 'Weight of the dimension, as a number (the API sends a string, e.g. "40" or "40%")';
COMMENT ON COLUMN feishu.metric_details.add_from IS 'Who added the metric, as the API codes it';
COMMENT ON COLUMN feishu.metric_details.is_from_library IS 'Whether the metric comes from the metric library';
COMMENT ON COLUMN feishu.metric_details.reviewee_stage_statuses IS 'The reviewee''s metric stages: [{stage_id, stage_type, stage_status}]';
COMMENT ON COLUMN feishu.metric_details.raw IS 'The entry as received';
COMMENT ON COLUMN feishu.metric_details.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.metric_details.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.metric_details.deleted_at IS 'When a complete nightly read of the semester no longer returned it, or its reviewee was retired; NULL while current';

CREATE TABLE feishu.metric_detail_fields (
    semester_id        text NOT NULL,
    reviewee_user_id   text NOT NULL,
    metric_id          text NOT NULL,
    field_id           text NOT NULL,
    field_value        text,
    field_number       double precision,
    field_value_person text,
    raw                jsonb NOT NULL,
    first_seen_at      timestamptz NOT NULL DEFAULT now(),
    synced_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    PRIMARY KEY (semester_id, reviewee_user_id, metric_id, field_id)
);
COMMENT ON TABLE feishu.metric_detail_fields IS
    'One field value of one metric of one reviewee (target, actual, ... as feishu.metric_fields names them). Key: (semester_id, reviewee_user_id, metric_id, field_id)';
COMMENT ON COLUMN feishu.metric_detail_fields.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.metric_detail_fields.reviewee_user_id IS 'The reviewee; joins feishu.users.id';
COMMENT ON COLUMN feishu.metric_detail_fields.metric_id IS 'The metric; joins feishu.metric_details';
COMMENT ON COLUMN feishu.metric_detail_fields.field_id IS 'The field; joins feishu.metric_fields.field_id for its name and type';
COMMENT ON COLUMN feishu.metric_detail_fields.field_value IS 'The value as sent (text)';
COMMENT ON COLUMN feishu.metric_detail_fields.field_number IS 'The value as a number when it is one ("85", "85%", "1,200"); NULL otherwise';
COMMENT ON COLUMN feishu.metric_detail_fields.field_value_person IS 'For person fields: the person; joins feishu.users.id';
COMMENT ON COLUMN feishu.metric_detail_fields.raw IS 'The field as received';
COMMENT ON COLUMN feishu.metric_detail_fields.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.metric_detail_fields.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.metric_detail_fields.deleted_at IS 'When its metric came back without it or was retired; NULL while current';

CREATE TABLE feishu.indicators (
    id            text PRIMARY KEY,
    name_zh       text,
    name_en       text,
    type          text,
    raw           jsonb NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    synced_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
COMMENT ON TABLE feishu.indicators IS 'Review indicators (performance/v2/indicators/query): what a review item rates. Key: id';
COMMENT ON COLUMN feishu.indicators.id IS 'The indicator; joins feishu.review_items.indicator_id';
COMMENT ON COLUMN feishu.indicators.name_zh IS 'Name in Chinese';
COMMENT ON COLUMN feishu.indicators.name_en IS 'Name in English';
COMMENT ON COLUMN feishu.indicators.type IS 'Indicator type, as the API codes it (e.g. score or level based)';
COMMENT ON COLUMN feishu.indicators.raw IS 'The record as received, its options included';
COMMENT ON COLUMN feishu.indicators.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.indicators.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.indicators.deleted_at IS 'When a complete list no longer contained it; NULL while current';

CREATE TABLE feishu.indicator_options (
    indicator_id  text NOT NULL,
    option_id     text NOT NULL,
    label         text,
    name_zh       text,
    name_en       text,
    raw           jsonb NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    synced_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    PRIMARY KEY (indicator_id, option_id)
);
COMMENT ON TABLE feishu.indicator_options IS 'The levels of an indicator: what review_items.option_id means. Key: (indicator_id, option_id)';
COMMENT ON COLUMN feishu.indicator_options.indicator_id IS 'The indicator; joins feishu.indicators.id';
COMMENT ON COLUMN feishu.indicator_options.option_id IS 'The level; joins feishu.review_items.option_id';
COMMENT ON COLUMN feishu.indicator_options.label IS 'The level''s code, e.g. S, A, B (the API spells the field "lable")';
COMMENT ON COLUMN feishu.indicator_options.name_zh IS 'Level name in Chinese';
COMMENT ON COLUMN feishu.indicator_options.name_en IS 'Level name in English';
COMMENT ON COLUMN feishu.indicator_options.raw IS 'The option as received';
COMMENT ON COLUMN feishu.indicator_options.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.indicator_options.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.indicator_options.deleted_at IS 'When a complete list no longer contained it; NULL while current';

CREATE TABLE feishu.metric_fields (
    field_id      text PRIMARY KEY,
    name_zh       text,
    name_en       text,
    type          text,
    raw           jsonb NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    synced_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
COMMENT ON TABLE feishu.metric_fields IS 'Metric fields (performance/v2/metric_fields/query): what metric_detail_fields.field_id means, e.g. target and actual. Key: field_id';
COMMENT ON COLUMN feishu.metric_fields.field_id IS 'The field; joins feishu.metric_detail_fields.field_id';
COMMENT ON COLUMN feishu.metric_fields.name_zh IS 'Name in Chinese (目标值, 实际值 ...)';
COMMENT ON COLUMN feishu.metric_fields.name_en IS 'Name in English (Target, Actual ...)';
COMMENT ON COLUMN feishu.metric_fields.type IS 'text, number, pencentage (sic) or person';
COMMENT ON COLUMN feishu.metric_fields.raw IS 'The record as received';
COMMENT ON COLUMN feishu.metric_fields.first_seen_at IS 'When feishu-sync first saw the row';
COMMENT ON COLUMN feishu.metric_fields.synced_at IS 'When the row last changed here';
COMMENT ON COLUMN feishu.metric_fields.deleted_at IS 'When a complete list no longer contained it; NULL while current';
