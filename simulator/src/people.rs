//! The simulated organisation directory: departments in a tree, and a profile per user
//! (the same open ids the other endpoints use), generated with the quirks a real one has:
//! people in two departments, people at the root, leaders, and an optional partial contact
//! range for the app.

use rand::Rng;

use super::random::Gen;

/// A department (`contact/v3/departments`).
#[derive(Debug, Clone, PartialEq)]
pub struct Department {
    /// `open_department_id`, `od-` + 32 hex characters.
    pub open_id: String,
    /// The tenant's own id (`department_id`), e.g. `D007`.
    pub custom_id: String,
    /// The parent's `open_department_id`; `"0"` for a top-level department.
    pub parent: String,
    /// Chinese name (`name`, and `i18n_name.zh_cn` on the wire).
    pub name: String,
    /// English name (`i18n_name.en_us`).
    pub en_name: String,
    /// The leader's open id, if the department has one.
    pub leader: Option<String>,
}

/// One user's directory profile (`contact/v3/users`).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Open id, as in `Tenant::users`.
    pub open_id: String,
    /// `on_` + 32 hex characters.
    pub union_id: String,
    /// The tenant's own user id (`user_id`), e.g. `u0042`.
    pub user_id: String,
    pub name: String,
    pub en_name: String,
    pub email: String,
    pub enterprise_email: String,
    pub job_title: String,
    pub employee_no: String,
    /// 1 regular, 2 intern, 3 outsourced, 4 labour, 5 consultant.
    pub employee_type: i32,
    /// The leader's open id.
    pub leader: Option<String>,
    pub city: String,
    pub country: String,
    /// Join time, epoch seconds.
    pub join_time_s: i64,
    pub is_tenant_manager: bool,
    /// `open_department_id`s the person belongs to; `"0"` is the root.
    pub departments: Vec<String>,
    pub is_activated: bool,
    pub is_frozen: bool,
    /// Resigned people are no longer listed in any department.
    pub is_resigned: bool,
    /// Left the tenant (`status.is_exited`); still listed.
    pub is_exited: bool,
    /// Invited but not joined yet (`status.is_unjoin`); still listed.
    pub is_unjoin: bool,
}

/// What the app may read of the directory when its contact range is partial: the root
/// department `"0"` is refused, and `/contact/v3/scopes` lists these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactRange {
    /// Departments granted, with everything below them.
    pub departments: Vec<String>,
    /// Users granted one by one (open ids).
    pub users: Vec<String>,
    /// User groups granted: their members are in range like users granted one by one.
    pub groups: Vec<UserGroup>,
}

/// A user group (`contact/v3/group`) and its user members.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserGroup {
    /// The group's id.
    pub id: String,
    /// Its user members (open ids).
    pub members: Vec<String>,
    /// Its member list answers an error (as for a group deleted after it was granted).
    pub refused: bool,
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];
const GIVEN: [&str; 14] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
];

/// A person's Chinese name, fixed per user index (the approvals' initiator names use it
/// too, so names agree across endpoints).
pub(crate) fn person_name(i: usize) -> String {
    let given = GIVEN[(i / SURNAMES.len() + i * 5) % GIVEN.len()];
    format!("{}{}", SURNAMES[i % SURNAMES.len()], given)
}

const DEPARTMENT_NAMES: [(&str, &str); 12] = [
    ("研发", "Engineering"),
    ("产品", "Product"),
    ("设计", "Design"),
    ("销售", "Sales"),
    ("市场", "Marketing"),
    ("财务", "Finance"),
    ("人力资源", "People"),
    ("法务", "Legal"),
    ("客户成功", "Customer Success"),
    ("运营", "Operations"),
    ("数据", "Data"),
    ("安全", "Security"),
];

const TITLES: [&str; 6] = [
    "Engineer",
    "Senior Engineer",
    "Product Manager",
    "Designer",
    "Account Manager",
    "Analyst",
];

const CITIES: [(&str, &str); 4] = [
    ("Beijing", "CN"),
    ("Shanghai", "CN"),
    ("Shenzhen", "CN"),
    ("Singapore", "SG"),
];

impl Gen {
    /// `count` departments: the first few at the top, each later one below a random
    /// earlier one, so the tree has no cycle.
    pub(crate) fn departments(&mut self, count: usize) -> Vec<Department> {
        let mut departments: Vec<Department> = Vec::with_capacity(count);
        for i in 0..count {
            let parent = if i < 3 || departments.is_empty() {
                "0".to_string()
            } else {
                let p = self.rng.random_range(0..departments.len());
                departments[p].open_id.clone()
            };
            let (zh, en) = DEPARTMENT_NAMES[i % DEPARTMENT_NAMES.len()];
            let round = i / DEPARTMENT_NAMES.len();
            let (name, en_name) = match round {
                0 => (zh.to_string(), en.to_string()),
                r => (format!("{zh}{}组", r + 1), format!("{en} {}", r + 1)),
            };
            departments.push(Department {
                open_id: format!("od-{:032x}", self.rng.random::<u128>()),
                custom_id: format!("D{:03}", i + 1),
                parent,
                name,
                en_name,
                leader: None,
            });
        }
        departments
    }

    /// A profile for each of `users`: most in one department, every tenth in two, every
    /// twentieth directly at the root; a department's first member leads it.
    pub(crate) fn people(
        &mut self,
        users: &[String],
        departments: &mut [Department],
    ) -> Vec<Person> {
        let mut people = Vec::with_capacity(users.len());
        for (i, open_id) in users.iter().enumerate() {
            let mut member_of = Vec::new();
            if departments.is_empty() || i % 20 == 19 {
                member_of.push("0".to_string());
            } else {
                let d = i % departments.len();
                member_of.push(departments[d].open_id.clone());
                if i % 10 == 3 && departments.len() > 1 {
                    member_of.push(departments[(d + 1) % departments.len()].open_id.clone());
                }
            }
            let mut leader = None;
            if let Some(home) = departments.iter_mut().find(|d| d.open_id == member_of[0]) {
                leader = home.leader.clone();
                home.leader.get_or_insert_with(|| open_id.clone());
            }
            people.push(self.person(i, open_id, member_of, leader));
        }
        people
    }

    fn person(
        &mut self,
        i: usize,
        open_id: &str,
        departments: Vec<String>,
        leader: Option<String>,
    ) -> Person {
        let name = person_name(i);
        let en_name = format!("User {i:04}");
        let (city, country) = CITIES[i % CITIES.len()];
        Person {
            open_id: open_id.to_string(),
            union_id: format!("on_{:032x}", self.rng.random::<u128>()),
            user_id: format!("u{i:04}"),
            email: format!("user{i:04}@example.com"),
            enterprise_email: format!("user{i:04}@corp.example.com"),
            job_title: TITLES[i % TITLES.len()].to_string(),
            employee_no: format!("E{:05}", 10_000 + i),
            employee_type: [1, 1, 1, 2, 3][i % 5],
            leader,
            city: city.to_string(),
            country: country.to_string(),
            join_time_s: self.now_ms / 1000 - self.rng.random_range(30..3_000) * 86_400,
            is_tenant_manager: i == 0,
            departments,
            is_activated: true,
            is_frozen: i % 50 == 49,
            is_resigned: false,
            is_exited: false,
            is_unjoin: false,
            name,
            en_name,
        }
    }
}
