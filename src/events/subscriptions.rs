//! Approval subscriptions: Feishu sends approval events only for definitions the app has
//! subscribed to (`POST /approval/v4/approvals/:approval_code/subscribe`, once per app and
//! code). Every `definition_code` that `feishu.approval_tasks` holds, plus
//! `events.approval_codes`, is subscribed once and recorded in
//! `feishu.event_subscriptions`; an "already subscribed" answer counts as done.

use anyhow::Context;
use serde_json::json;

use crate::feishu::{ApiRequest, Endpoint};
use crate::sync::SyncContext;
use feishu_endpoints::{APPROVAL_SUBSCRIBE_PATH, fill_path};

/// The approval API's answer to a subscription that exists already: HTTP 400, code
/// 1390007, `subscription existed` ("当前审批定义已完成订阅或已取消订阅，无需重复操作"),
/// in the error-code table of the subscribe document,
/// <https://open.feishu.cn/document/server-docs/approval-v4/event/event-interface/subscribe>.
const ALREADY_SUBSCRIBED: i64 = 1390007;

/// Subscribes every known code not yet recorded; failures are logged and retried on the
/// next round. Returns how many codes were newly recorded.
pub async fn subscribe_known(ctx: &SyncContext, extra: &[String]) -> usize {
    match subscribe(ctx, extra).await {
        Ok(n) => n,
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "approval subscriptions: trying again later"
            );
            0
        }
    }
}

async fn subscribe(ctx: &SyncContext, extra: &[String]) -> anyhow::Result<usize> {
    let codes = sqlx::query_scalar!(
        r#"SELECT code AS "code!" FROM (
               SELECT DISTINCT definition_code AS code FROM feishu.approval_tasks
                WHERE definition_code IS NOT NULL AND definition_code <> ''
               UNION SELECT unnest($1::text[])) c
            WHERE NOT EXISTS (SELECT 1 FROM feishu.event_subscriptions s WHERE s.approval_code = c.code)
            ORDER BY 1"#,
        extra
    )
    .fetch_all(&ctx.pool)
    .await
    .context("listing approval codes to subscribe")?;
    let mut done = 0;
    for code in codes {
        let mut request = ApiRequest::new(Endpoint::ApprovalTasks);
        request.path = Some(fill_path(APPROVAL_SUBSCRIBE_PATH, &code));
        request.body = Some(json!({}));
        match ctx.client.call(&request).await {
            Ok(_) => {}
            Err(error) if error.code() == Some(ALREADY_SUBSCRIBED) => {}
            Err(error) => {
                tracing::warn!(code, %error, "subscribing to an approval definition failed");
                continue;
            }
        }
        sqlx::query!(
            "INSERT INTO feishu.event_subscriptions (approval_code) VALUES ($1) ON CONFLICT DO NOTHING",
            code
        )
        .execute(&ctx.pool)
        .await
        .context("recording an approval subscription")?;
        tracing::info!(code, "subscribed to the approval definition's events");
        done += 1;
    }
    Ok(done)
}
