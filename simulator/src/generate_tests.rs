//! Tests of tenant generation: determinism and the page counts `small()` promises.

use std::collections::HashSet;

use super::*;

#[test]
fn small_meets_page_count_requirements() {
    let t = Tenant::generate(&TenantSpec::small());
    assert!(t.tasks.len() > 200, "task v1 needs >= 3 pages of 100");
    for s in &t.semesters {
        let users: HashSet<_> = t
            .stage_tasks
            .iter()
            .filter(|x| x.semester_id == s.id)
            .map(|x| &x.user_id)
            .collect();
        assert!(users.len() > 50, "stage tasks need >= 2 pages of 50 users");
    }
    let heavy = t
        .approval_tasks
        .iter()
        .filter(|a| a.user_id == t.users[0] && a.topic == "2")
        .count();
    assert!(heavy > 200, "one (user, topic) needs 2 pages of 200");
    assert!(
        t.tasks.iter().any(|x| x.due.is_none()) && t.tasks.iter().any(|x| x.complete_time_s != 0)
    );
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    let spec = TenantSpec::small();
    let (a, b) = (Tenant::generate(&spec), Tenant::generate(&spec));
    assert_eq!(a.users, b.users);
    let ids = |t: &Tenant| {
        let mut v: Vec<String> = t.semesters.iter().map(|s| s.id.clone()).collect();
        v.extend(t.activities.iter().map(|x| x.id.clone()));
        v.extend(
            t.stage_tasks
                .iter()
                .map(|x| format!("{}{}", x.stage_id, x.user_id)),
        );
        v.extend(t.approval_tasks.iter().map(|x| x.task_id.clone()));
        v.extend(t.tasks.iter().map(|x| x.id.clone()));
        v
    };
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(a.tasks[7].summary, b.tasks[7].summary);
    let other = Tenant::generate(&TenantSpec { seed: 43, ..spec });
    assert_ne!(a.users, other.users);
}
