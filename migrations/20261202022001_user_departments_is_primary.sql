-- Which of a user's memberships is their primary department, so per-department headcounts
-- can count each person once (source: the user's orders[].is_primary_dept).
ALTER TABLE feishu.user_departments ADD COLUMN is_primary boolean;
COMMENT ON COLUMN feishu.user_departments.is_primary IS
    'Whether this is the user''s one primary department (source: orders[].is_primary_dept of the entry with this department_id; the primary one is the user''s department with the largest department_order). NULL when the record has no orders entry for it (the field scope contact:user.department:readonly hides orders). Count people per department with WHERE is_primary to count each person once';
