//! Cheap change detection for [`crate::SimHandle::with_tenant_touching`]: a change that
//! names the records it may touch is diffed on those records only, not on the whole
//! tenant. The large tenant holds over 10^5 approval tasks; cloning and diffing all of them
//! on every change held the tenant and event locks long enough to starve the WebSocket
//! (late pongs, late events).

use std::collections::HashSet;

use super::tenant::Tenant;

/// The records a change of the tenant may touch. Only these are compared before and
/// after the change, so only their events are emitted: whatever else the change alters
/// goes unannounced.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    /// Open ids of people whose profile or approval tasks may change (created, edited
    /// or removed).
    pub users: Vec<String>,
    /// Ids of task-v1 tasks that may change or be removed.
    pub tasks: Vec<String>,
    /// Open department ids of departments that may be created, changed or removed.
    pub departments: Vec<String>,
}

impl Touched {
    /// The part of `tenant` these records are: the named people with their approval
    /// tasks, the named tasks and the named departments (each present or not). Cost: one
    /// scan of those collections, no copy of the rest.
    pub(crate) fn slice(&self, tenant: &Tenant) -> Tenant {
        let users: HashSet<&str> = self.users.iter().map(String::as_str).collect();
        let tasks: HashSet<&str> = self.tasks.iter().map(String::as_str).collect();
        let departments: HashSet<&str> = self.departments.iter().map(String::as_str).collect();
        let mut slice = Tenant::default();
        if !users.is_empty() {
            slice.people = tenant
                .people
                .iter()
                .filter(|p| users.contains(p.open_id.as_str()))
                .cloned()
                .collect();
            slice.approval_tasks = tenant
                .approval_tasks
                .iter()
                .filter(|a| users.contains(a.user_id.as_str()))
                .cloned()
                .collect();
        }
        if !tasks.is_empty() {
            slice.tasks = tenant
                .tasks
                .iter()
                .filter(|t| tasks.contains(t.id.as_str()))
                .cloned()
                .collect();
        }
        if !departments.is_empty() {
            slice.departments = tenant
                .departments
                .iter()
                .filter(|d| departments.contains(d.open_id.as_str()))
                .cloned()
                .collect();
        }
        slice
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::Value;

    use super::*;
    use crate::events::EventHub;
    use crate::tenant::TenantSpec;

    fn tenant() -> Tenant {
        Tenant::generate(&TenantSpec {
            seed: 4,
            users: 20,
            semesters: 1,
            activities_per_semester: 1,
            stage_tasks_per_user: 1,
            approval_tasks_per_user: 10,
            tasks: 30,
        })
    }

    #[test]
    fn a_slice_holds_the_named_records_and_their_approvals_only() {
        let tenant = tenant();
        let person = tenant.people[3].open_id.clone();
        let touched = Touched {
            users: vec![person.clone()],
            tasks: vec![tenant.tasks[4].id.clone()],
            departments: vec![tenant.departments[0].open_id.clone()],
        };

        let slice = touched.slice(&tenant);

        assert_eq!(slice.people.len(), 1);
        assert_eq!(slice.people[0].open_id, person);
        assert!(!slice.approval_tasks.is_empty());
        assert!(slice.approval_tasks.iter().all(|a| a.user_id == person));
        assert_eq!(slice.tasks.len(), 1);
        assert_eq!(slice.departments.len(), 1);
        assert!(slice.stage_tasks.is_empty() && slice.semesters.is_empty());
    }

    #[test]
    fn only_changes_of_touched_records_emit_events() {
        let mut tenant = tenant();
        let person = tenant.people[3].open_id.clone();
        let task = tenant.tasks[4].id.clone();
        let touched = Touched {
            users: vec![person.clone()],
            tasks: vec![task.clone()],
            departments: Vec::new(),
        };
        let before = touched.slice(&tenant);

        tenant.people[3].job_title = "changed".into();
        tenant.tasks[4].summary = "changed".into();
        tenant.people[5].job_title = "not announced".into();
        let after = touched.slice(&tenant);
        let mut hub = EventHub::default();
        hub.emit_changes("cli_sim", &before, &after);

        let events: Vec<Value> = hub
            .due(Instant::now())
            .iter()
            .map(|e| serde_json::from_slice(&e.payload).unwrap())
            .collect();
        let types: Vec<&str> = events
            .iter()
            .map(|e| e["header"]["event_type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["contact.user.updated_v3", "task.task.updated_v1"]);
        assert_eq!(events[0]["event"]["object"]["open_id"], person.as_str());
        assert_eq!(events[1]["event"]["task_id"], task.as_str());
    }
}
