//! The directory as the contact endpoints see it: the departments below one, and whether
//! a department or a user lies in the app's contact range (the whole directory, or granted
//! departments, groups and users).

use std::collections::HashSet;

use super::people::{Department, Person};
use super::tenant::Tenant;

/// Departments under `parent`: its children, or every level below it. A visited set keeps
/// a cycle a test builds from looping.
pub(crate) fn below<'a>(tenant: &'a Tenant, parent: &str, recursive: bool) -> Vec<&'a Department> {
    let mut found = Vec::new();
    let mut seen: HashSet<&str> = HashSet::from([parent]);
    let mut queue = vec![parent.to_string()];
    while let Some(at) = queue.pop() {
        for d in tenant.departments.iter().filter(|d| d.parent == at) {
            if seen.insert(d.open_id.as_str()) {
                found.push(d);
                if recursive {
                    queue.push(d.open_id.clone());
                }
            }
        }
    }
    found
}

/// Whether the app may read `department`: always with the whole directory in range;
/// otherwise only a granted department or one below it, never the root.
pub(crate) fn department_in_range(tenant: &Tenant, department: &str) -> bool {
    let known = department == "0" || tenant.departments.iter().any(|d| d.open_id == department);
    let Some(range) = &tenant.contact_range else {
        return known;
    };
    let mut at = department.to_string();
    for _ in 0..=tenant.departments.len() {
        if range.departments.contains(&at) {
            return true;
        }
        match tenant.departments.iter().find(|d| d.open_id == at) {
            Some(d) => at = d.parent.clone(),
            None => return false,
        }
    }
    false
}

pub(crate) fn user_in_range(tenant: &Tenant, person: &Person) -> bool {
    match &tenant.contact_range {
        None => true,
        Some(range) => {
            range.users.contains(&person.open_id)
                || range
                    .groups
                    .iter()
                    .any(|g| g.members.contains(&person.open_id))
                || person
                    .departments
                    .iter()
                    .any(|d| department_in_range(tenant, d))
        }
    }
}
