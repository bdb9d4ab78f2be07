//! Performance results of the simulated tenant: reviewees, their stage results (self,
//! manager and final reviews with levels and scores), metrics with targets and actuals,
//! and the two dictionaries (indicators with levels, metric fields). Generated from the
//! semesters, activities and users already in the tenant, so they agree with them.

use rand::Rng;

use super::random::{DAY_MS, Gen};
use super::tenant::{I18n, Indicator, Metric, MetricField, Reviewee, StageResult, Tenant};

/// Level codes from best to worst, with their names.
const LEVELS: [(&str, &str, &str); 5] = [
    ("S", "卓越", "Outstanding"),
    ("A", "优秀", "Exceeds expectations"),
    ("B", "良好", "Meets expectations"),
    ("C", "待改进", "Needs improvement"),
    ("D", "不合格", "Unsatisfactory"),
];

impl Tenant {
    /// Fills in the performance results from the semesters, activities and users.
    pub(crate) fn generate_results(&mut self, g: &mut Gen) {
        let indicator = Indicator {
            id: g.numeric_id(),
            name: I18n::new("综合绩效", "Overall performance"),
            r#type: "score_and_level".into(),
            options: LEVELS
                .iter()
                .map(|(code, zh, en)| (g.numeric_id(), code.to_string(), I18n::new(*zh, *en)))
                .collect(),
        };
        self.metric_fields = vec![
            MetricField {
                field_id: g.numeric_id(),
                name: I18n::new("目标值", "Target"),
                r#type: "number".into(),
            },
            MetricField {
                field_id: g.numeric_id(),
                name: I18n::new("实际值", "Actual"),
                r#type: "number".into(),
            },
            MetricField {
                field_id: g.numeric_id(),
                name: I18n::new("备注", "Remarks"),
                r#type: "text".into(),
            },
        ];
        let users = self.users.clone();
        for semester in self.semesters.clone() {
            let activity = self
                .activities
                .iter()
                .find(|a| a.semester_id == semester.id);
            let Some(activity_id) = activity.map(|a| a.id.clone()) else {
                continue;
            };
            let stages = [
                (g.numeric_id(), "review", "reviewee"),
                (g.numeric_id(), "review", "solid_line_leader"),
                (g.numeric_id(), "leader_review", "solid_line_leader"),
            ];
            for (n, user) in users.iter().enumerate() {
                if g.chance(0.1) {
                    continue; // not everyone is reviewed every semester
                }
                self.reviewees.push(Reviewee {
                    semester_id: semester.id.clone(),
                    user_id: user.clone(),
                    activity_ids: vec![activity_id.clone()],
                });
                let manager = users[(n + 1) % users.len()].clone();
                // People rate themselves a little higher, some much higher, than their
                // manager does; the final result follows the manager's.
                let base: f64 = g.rng.random_range(1.5..5.0);
                let own: f64 = g.rng.random_range(-0.5..1.6);
                for (stage_id, stage_type, role) in &stages {
                    let reviewer = if *role == "reviewee" {
                        user.clone()
                    } else {
                        manager.clone()
                    };
                    let score = if *role == "reviewee" {
                        base + own
                    } else {
                        base
                    };
                    let score = (score.clamp(1.0, 5.0) * 10.0).round() / 10.0;
                    self.reviews.push(StageResult {
                        semester_id: semester.id.clone(),
                        user_id: user.clone(),
                        activity_id: activity_id.clone(),
                        stage_id: stage_id.clone(),
                        stage_type: stage_type.to_string(),
                        role: role.to_string(),
                        reviewer,
                        record_id: g.numeric_id(),
                        indicator_id: indicator.id.clone(),
                        option_id: level_for(&indicator, score),
                        score,
                        comment: format!("{} review of {}", role, &user[..8]),
                        // Days before the end (or now): outside any short lookback.
                        submit_time_ms: semester.end_time_ms.min(g.now_ms)
                            - g.rng.random_range(2 * DAY_MS..30 * DAY_MS),
                    });
                }
                for k in 0..2 {
                    let target: f64 = (g.rng.random_range(50..200) * 10) as f64;
                    self.metrics.push(Metric {
                        semester_id: semester.id.clone(),
                        user_id: user.clone(),
                        metric_id: g.numeric_id(),
                        name: ["Revenue", "Delivery on time"][k].to_string(),
                        dimension_id: format!("dim-{k}"),
                        dimension_name: [
                            I18n::new("业绩", "Results"),
                            I18n::new("交付", "Delivery"),
                        ][k]
                            .clone(),
                        weight: ["60", "40"][k].to_string(),
                        target,
                        actual: (target * g.rng.random_range(0.6..1.3)).round(),
                    });
                }
            }
        }
        self.indicators = vec![indicator];
    }

    /// Resubmits `count` stage results (every `step`-th one) with a new level and score
    /// and submit time `now_ms`, as a calibration or a late review would; returns their
    /// `(semester, reviewee, stage)` keys.
    pub fn resubmit_reviews(&mut self, count: usize, now_ms: i64) -> Vec<(String, String, String)> {
        let step = (self.reviews.len() / count.max(1)).max(1);
        let indicator = self.indicators.first().cloned();
        let mut changed = Vec::new();
        for r in self.reviews.iter_mut().step_by(step).take(count) {
            let moved = if r.score >= 3.0 {
                r.score - 1.0
            } else {
                r.score + 1.0
            };
            // One decimal, as the wire sends it.
            r.score = (moved * 10.0).round() / 10.0;
            if let Some(indicator) = &indicator {
                r.option_id = level_for(indicator, r.score);
            }
            r.submit_time_ms = now_ms;
            changed.push((r.semester_id.clone(), r.user_id.clone(), r.stage_id.clone()));
        }
        changed
    }
}

/// The level a score earns: 4.5 and up S, 3.5 A, 2.5 B, 1.5 C, else D.
fn level_for(indicator: &Indicator, score: f64) -> String {
    let index = match score {
        s if s >= 4.5 => 0,
        s if s >= 3.5 => 1,
        s if s >= 2.5 => 2,
        s if s >= 1.5 => 3,
        _ => 4,
    };
    indicator.options[index.min(indicator.options.len() - 1)]
        .0
        .clone()
}
