-- Views over the performance results, for HR analysts. Each reads current rows only.
-- A person's primary department is the membership user_departments marks is_primary
-- (orders[].is_primary_dept); without that information (no orders, no field scope), the
-- first of their current departments by name. feishu.primary_departments gives it, one
-- lookup per person, so the views need not aggregate feishu.people for every row.

CREATE VIEW feishu.primary_departments AS
SELECT u.id AS user_id,
       u.name AS user_name,
       dep.id AS department_id,
       dep.name AS department_name
  FROM feishu.users u
  LEFT JOIN LATERAL (
        SELECT d.id, d.name
          FROM feishu.user_departments ud
          JOIN feishu.departments d ON d.id = ud.department_id AND d.deleted_at IS NULL
         WHERE ud.user_id = u.id
         ORDER BY ud.is_primary IS TRUE DESC, d.name, d.id
         LIMIT 1) dep ON true
 WHERE u.deleted_at IS NULL;
COMMENT ON VIEW feishu.primary_departments IS
    'Each current user with their primary department: the membership marked is_primary, else the first of their current departments by name (NULL for members of the root only)';
COMMENT ON COLUMN feishu.primary_departments.user_id IS 'The user; joins feishu.users.id';
COMMENT ON COLUMN feishu.primary_departments.user_name IS 'Name';
COMMENT ON COLUMN feishu.primary_departments.department_id IS 'Primary department (open_department_id); NULL when the user is only at the root';
COMMENT ON COLUMN feishu.primary_departments.department_name IS 'Its name';

CREATE VIEW feishu.review_results AS
SELECT i.semester_id,
       s.name_en AS semester_name,
       i.reviewee_user_id,
       p.user_name AS reviewee_name,
       p.department_id,
       p.department_name,
       i.stage_id,
       st.stage_type,
       st.review_stage_role,
       st.stage_type = 'leader_review' AS is_final,
       nullif(i.reviewer_user_id, '') AS reviewer_user_id,
       r.user_name AS reviewer_name,
       i.indicator_id,
       i.option_id,
       o.label AS level_code,
       o.name_zh AS level_name_zh,
       o.name_en AS level_name_en,
       i.score,
       i.submit_time
  FROM feishu.review_items i
  JOIN feishu.review_stages st
    ON st.semester_id = i.semester_id AND st.reviewee_user_id = i.reviewee_user_id
   AND st.stage_id = i.stage_id AND st.deleted_at IS NULL
  LEFT JOIN feishu.semesters s ON s.id = i.semester_id
  LEFT JOIN feishu.primary_departments p ON p.user_id = i.reviewee_user_id
  LEFT JOIN feishu.primary_departments r ON r.user_id = i.reviewer_user_id
  LEFT JOIN feishu.indicator_options o
    ON o.indicator_id = i.indicator_id AND o.option_id = i.option_id AND o.deleted_at IS NULL
 WHERE i.deleted_at IS NULL
   AND i.is_principal_review_item
   AND (i.option_id IS NOT NULL OR i.score IS NOT NULL);
COMMENT ON VIEW feishu.review_results IS
    'One row per reviewee, semester, stage and reviewer whose stage has its own level or score (the principal review item), with names, primary department and the level''s code and name';
COMMENT ON COLUMN feishu.review_results.semester_id IS 'The semester; joins feishu.semesters.id';
COMMENT ON COLUMN feishu.review_results.semester_name IS 'Semester name in English';
COMMENT ON COLUMN feishu.review_results.reviewee_user_id IS 'The reviewee; joins feishu.users.id';
COMMENT ON COLUMN feishu.review_results.reviewee_name IS 'The reviewee''s name (NULL when not in the directory)';
COMMENT ON COLUMN feishu.review_results.department_id IS 'The reviewee''s primary department';
COMMENT ON COLUMN feishu.review_results.department_name IS 'Its name';
COMMENT ON COLUMN feishu.review_results.stage_id IS 'The stage; joins feishu.review_stages';
COMMENT ON COLUMN feishu.review_results.stage_type IS 'The stage type (see feishu.review_stages.stage_type)';
COMMENT ON COLUMN feishu.review_results.review_stage_role IS 'Whose review: reviewee (self), solid_line_leader (manager), invited_reviewer ...';
COMMENT ON COLUMN feishu.review_results.is_final IS 'Whether this is the final result (stage_type leader_review)';
COMMENT ON COLUMN feishu.review_results.reviewer_user_id IS 'Who gave it (one row per reviewer of a multi-reviewer stage)';
COMMENT ON COLUMN feishu.review_results.reviewer_name IS 'The reviewer''s name';
COMMENT ON COLUMN feishu.review_results.indicator_id IS 'The indicator rated; joins feishu.indicators.id';
COMMENT ON COLUMN feishu.review_results.option_id IS 'The level chosen';
COMMENT ON COLUMN feishu.review_results.level_code IS 'The level''s code (S, A, B ...), from feishu.indicator_options.label';
COMMENT ON COLUMN feishu.review_results.level_name_zh IS 'The level''s name in Chinese';
COMMENT ON COLUMN feishu.review_results.level_name_en IS 'The level''s name in English';
COMMENT ON COLUMN feishu.review_results.score IS 'The score given';
COMMENT ON COLUMN feishu.review_results.submit_time IS 'When it was submitted';

CREATE VIEW feishu.rating_distribution AS
SELECT r.semester_id,
       min(r.semester_name) AS semester_name,
       r.department_id,
       min(r.department_name) AS department_name,
       r.level_code,
       min(r.level_name_en) AS level_name_en,
       count(DISTINCT r.reviewee_user_id) AS reviewees,
       count(DISTINCT r.reviewee_user_id)::double precision
           / sum(count(DISTINCT r.reviewee_user_id)) OVER (PARTITION BY r.semester_id, r.department_id)
           AS share
  FROM feishu.review_results r
 WHERE r.is_final AND r.level_code IS NOT NULL
 GROUP BY r.semester_id, r.department_id, r.level_code;
COMMENT ON VIEW feishu.rating_distribution IS
    'Final levels per semester, primary department and level: how many reviewees got each, and their share of the department''s rated reviewees';
COMMENT ON COLUMN feishu.rating_distribution.semester_id IS 'The semester';
COMMENT ON COLUMN feishu.rating_distribution.semester_name IS 'Semester name in English';
COMMENT ON COLUMN feishu.rating_distribution.department_id IS 'The reviewees'' primary department (NULL: not in the directory)';
COMMENT ON COLUMN feishu.rating_distribution.department_name IS 'Its name';
COMMENT ON COLUMN feishu.rating_distribution.level_code IS 'The final level''s code';
COMMENT ON COLUMN feishu.rating_distribution.level_name_en IS 'Its name in English';
COMMENT ON COLUMN feishu.rating_distribution.reviewees IS 'Reviewees with this final level';
COMMENT ON COLUMN feishu.rating_distribution.share IS 'Their share of the department''s reviewees with a final level in the semester (0 to 1)';

CREATE VIEW feishu.review_gaps AS
SELECT r.semester_id,
       r.reviewee_user_id,
       min(r.reviewee_name) AS reviewee_name,
       min(r.department_name) AS department_name,
       avg(r.score) FILTER (WHERE r.review_stage_role = 'reviewee') AS self_score,
       avg(r.score) FILTER (WHERE r.review_stage_role = 'solid_line_leader') AS manager_score,
       avg(r.score) FILTER (WHERE r.review_stage_role = 'solid_line_leader')
           - avg(r.score) FILTER (WHERE r.review_stage_role = 'reviewee') AS gap
  FROM feishu.review_results r
 WHERE r.stage_type = 'review' AND r.score IS NOT NULL
 GROUP BY r.semester_id, r.reviewee_user_id
HAVING count(*) FILTER (WHERE r.review_stage_role = 'reviewee') > 0
   AND count(*) FILTER (WHERE r.review_stage_role = 'solid_line_leader') > 0;
COMMENT ON VIEW feishu.review_gaps IS
    'Self review against manager review per reviewee and semester, where both have a score';
COMMENT ON COLUMN feishu.review_gaps.semester_id IS 'The semester';
COMMENT ON COLUMN feishu.review_gaps.reviewee_user_id IS 'The reviewee';
COMMENT ON COLUMN feishu.review_gaps.reviewee_name IS 'Name';
COMMENT ON COLUMN feishu.review_gaps.department_name IS 'Primary department';
COMMENT ON COLUMN feishu.review_gaps.self_score IS 'Score of the self review (role reviewee)';
COMMENT ON COLUMN feishu.review_gaps.manager_score IS 'Score of the manager review (role solid_line_leader; the average over several)';
COMMENT ON COLUMN feishu.review_gaps.gap IS 'manager_score - self_score: negative when the reviewee rated themselves higher';

CREATE VIEW feishu.metric_attainment AS
WITH named AS (
    SELECT f.field_id,
           CASE WHEN lower(f.name_en) IN ('target', 'target value') OR f.name_zh IN ('目标', '目标值') THEN 'target'
                WHEN lower(f.name_en) IN ('actual', 'actual value', 'actual result') OR f.name_zh IN ('实际', '实际值', '完成值') THEN 'actual'
           END AS role
      FROM feishu.metric_fields f
     WHERE f.deleted_at IS NULL
)
SELECT m.semester_id,
       m.reviewee_user_id,
       p.user_name AS reviewee_name,
       p.department_name,
       m.metric_id,
       m.name AS metric_name,
       m.dimension_name_en,
       m.dimension_weight,
       t.field_number AS target,
       a.field_number AS actual,
       a.field_number / nullif(t.field_number, 0) AS attainment
  FROM feishu.metric_details m
  LEFT JOIN feishu.primary_departments p ON p.user_id = m.reviewee_user_id
  JOIN feishu.metric_detail_fields t
    ON t.semester_id = m.semester_id AND t.reviewee_user_id = m.reviewee_user_id
   AND t.metric_id = m.metric_id AND t.deleted_at IS NULL
   AND t.field_id IN (SELECT field_id FROM named WHERE role = 'target')
  JOIN feishu.metric_detail_fields a
    ON a.semester_id = m.semester_id AND a.reviewee_user_id = m.reviewee_user_id
   AND a.metric_id = m.metric_id AND a.deleted_at IS NULL
   AND a.field_id IN (SELECT field_id FROM named WHERE role = 'actual')
 WHERE m.deleted_at IS NULL;
COMMENT ON VIEW feishu.metric_attainment IS
    'Actual against target per reviewee and metric, using the fields feishu.metric_fields names Target/目标值 and Actual/实际值';
COMMENT ON COLUMN feishu.metric_attainment.semester_id IS 'The semester';
COMMENT ON COLUMN feishu.metric_attainment.reviewee_user_id IS 'The reviewee';
COMMENT ON COLUMN feishu.metric_attainment.reviewee_name IS 'Name';
COMMENT ON COLUMN feishu.metric_attainment.department_name IS 'Primary department';
COMMENT ON COLUMN feishu.metric_attainment.metric_id IS 'The metric; joins feishu.metric_details';
COMMENT ON COLUMN feishu.metric_attainment.metric_name IS 'Metric name';
COMMENT ON COLUMN feishu.metric_attainment.dimension_name_en IS 'Its dimension';
COMMENT ON COLUMN feishu.metric_attainment.dimension_weight IS 'The dimension''s weight';
COMMENT ON COLUMN feishu.metric_attainment.target IS 'Target value';
COMMENT ON COLUMN feishu.metric_attainment.actual IS 'Actual value';
COMMENT ON COLUMN feishu.metric_attainment.attainment IS 'actual / target (1 = on target); NULL when the target is 0';
