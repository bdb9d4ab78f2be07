//! The rate ceilings earlier runs learned (`sync_runs.rate_ceiling_per_minute`), loaded when
//! the service or `sync` starts, so a restarted process begins each endpoint at its
//! ceiling instead of re-learning it through frequency limits.

use sqlx::PgPool;

use crate::feishu::{Endpoint, FeishuClient};

/// Starts each endpoint's budget at the ceiling its latest run that sent requests recorded,
/// where that is below the configured rate (a latest run with none means there is none,
/// or a probe climbed back to the configured rate). A database that cannot say costs
/// only a warning: the budgets then learn as before.
pub async fn load(pool: &PgPool, client: &FeishuClient) {
    let latest = sqlx::query!(
        r#"SELECT DISTINCT ON (stream) stream, rate_ceiling_per_minute
             FROM feishu.sync_runs
            WHERE finished_at IS NOT NULL AND requests > 0
            ORDER BY stream, id DESC"#
    )
    .fetch_all(pool)
    .await;
    let latest = match latest {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(%error, "cannot read the rate ceilings earlier runs learned; learning them again");
            return;
        }
    };
    for row in latest {
        let (Some(endpoint), Some(ceiling)) = (
            Endpoint::from_name(&row.stream),
            row.rate_ceiling_per_minute,
        ) else {
            continue;
        };
        let ceiling = u32::try_from(ceiling).unwrap_or(1);
        if client.start_from_ceiling(endpoint, ceiling) {
            tracing::info!(%endpoint, ceiling_per_minute = ceiling,
                "starting from the rate ceiling an earlier run learned (below the configured rate)");
        }
    }
}
