-- The organisation directory (contact v3): departments, users and who belongs where, so
-- every `user_id` elsewhere can be joined to a name and a department.

-- GET /open-apis/contact/v3/departments/{id}/children (fetch_child=true), data.items[].
CREATE TABLE feishu.departments (
    id             text PRIMARY KEY,
    department_id  text,
    parent_id      text,
    name           text,
    name_zh        text,
    name_en        text,
    leader_user_id text,
    member_count   integer,
    raw            jsonb NOT NULL,
    deleted_at     timestamptz,
    synced_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX departments_parent_idx ON feishu.departments (parent_id);

-- GET /open-apis/contact/v3/users/find_by_department, data.items[] (and users/{id},
-- data.user, for users granted one by one).
CREATE TABLE feishu.users (
    id                text PRIMARY KEY,
    open_id           text,
    union_id          text,
    user_id           text,
    name              text,
    en_name           text,
    email             text,
    enterprise_email  text,
    job_title         text,
    employee_no       text,
    employee_type     integer,
    leader_user_id    text,
    city              text,
    country           text,
    join_time         timestamptz,
    is_tenant_manager boolean,
    is_activated      boolean,
    is_frozen         boolean,
    is_resigned       boolean,
    raw               jsonb NOT NULL,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_leader_idx ON feishu.users (leader_user_id);

-- Memberships of current users, made exactly what the last complete directory pass saw.
CREATE TABLE feishu.user_departments (
    user_id       text NOT NULL,
    department_id text NOT NULL,
    PRIMARY KEY (user_id, department_id)
);
CREATE INDEX user_departments_department_idx ON feishu.user_departments (department_id);
