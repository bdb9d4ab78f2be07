//! The long connection's URL: `POST {base_url}/callback/ws/endpoint` with the app's id and
//! secret (no token, not an Open API call) answers the WebSocket URL and the client
//! configuration (ping and reconnect intervals). Codes 1 and 1000040343 are the server's
//! own trouble and retried; any other non-zero code is the app's (wrong credentials, no
//! long-connection mode), which retrying soon cannot fix.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;

use super::client::FeishuClient;
use feishu_endpoints::WS_ENDPOINT_PATH;

/// How the connection behaves, as the server configures it (`ClientConfig`), in the
/// SDKs' defaults until it says otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientConfig {
    /// Reconnect attempts after a loss; −1: for ever.
    pub reconnect_count: i64,
    /// Between two reconnect attempts.
    pub reconnect_interval: Duration,
    /// The first attempt waits a random time below this, so replicas do not reconnect
    /// in step.
    pub reconnect_nonce: Duration,
    /// Between two pings.
    pub ping_interval: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            reconnect_count: -1,
            reconnect_interval: Duration::from_secs(120),
            reconnect_nonce: Duration::from_secs(30),
            ping_interval: Duration::from_secs(120),
        }
    }
}

/// `ClientConfig` as sent, every field optional; intervals in seconds.
#[derive(Debug, Default, Deserialize)]
pub struct WireClientConfig {
    #[serde(rename = "ReconnectCount")]
    reconnect_count: Option<i64>,
    #[serde(rename = "ReconnectInterval")]
    reconnect_interval: Option<u64>,
    #[serde(rename = "ReconnectNonce")]
    reconnect_nonce: Option<u64>,
    #[serde(rename = "PingInterval")]
    ping_interval: Option<u64>,
}

impl ClientConfig {
    /// Takes the fields `wire` sets; a zero ping interval is ignored.
    pub fn apply(&mut self, wire: &WireClientConfig) {
        if let Some(count) = wire.reconnect_count {
            self.reconnect_count = count;
        }
        if let Some(secs) = wire.reconnect_interval {
            self.reconnect_interval = Duration::from_secs(secs);
        }
        if let Some(secs) = wire.reconnect_nonce {
            self.reconnect_nonce = Duration::from_secs(secs);
        }
        if let Some(secs) = wire.ping_interval.filter(|s| *s > 0) {
            self.ping_interval = Duration::from_secs(secs);
        }
    }
}

/// Where to connect.
#[derive(Debug)]
pub struct ConnectionEndpoint {
    /// The `wss://` URL, carrying `device_id` and `service_id`.
    pub url: String,
    /// `service_id` of the URL: every ping names it.
    pub service_id: i32,
    /// `device_id` of the URL, for logs.
    pub device_id: String,
    pub config: WireClientConfig,
}

/// Why no connection could be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The platform refused the app: retrying soon cannot help.
    #[error(
        "the long connection refused the app: code {code}: {msg}; check feishu.app_id and feishu.app_secret, that the app is self-built, and that the developer console's event subscription uses the long connection mode (an app holds at most 50 connections)"
    )]
    Client { code: i64, msg: String },
    /// The server's or the network's trouble: retried on the reconnect schedule.
    #[error("the long connection is unavailable: {0}")]
    Transient(String),
}

/// `data` of the endpoint's answer.
#[derive(Debug, Deserialize)]
struct EndpointData {
    #[serde(rename = "URL")]
    url: Option<String>,
    #[serde(rename = "ClientConfig", default)]
    client_config: Option<WireClientConfig>,
}

impl FeishuClient {
    /// Asks for a fresh connection URL (every reconnect does), within the request
    /// timeout.
    pub async fn long_connection_endpoint(&self) -> Result<ConnectionEndpoint, ConnectError> {
        let (http, settings) = self.http_and_settings();
        let body = serde_json::json!({
            "AppID": settings.app_id,
            "AppSecret": settings.app_secret.expose_secret(),
        });
        let answer = http
            .post(format!("{}{WS_ENDPOINT_PATH}", settings.base_url))
            .header("locale", "zh")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body.to_string())
            .timeout(settings.timeout)
            .send()
            .await
            .map_err(|e| ConnectError::Transient(format!("requesting the connection URL: {e}")))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| ConnectError::Transient(format!("reading the connection URL: {e}")))?;
        read_endpoint_answer(status.as_u16(), &text)
    }
}

/// Reads the endpoint's answer (its HTTP status and body).
pub fn read_endpoint_answer(status: u16, text: &str) -> Result<ConnectionEndpoint, ConnectError> {
    let body: Value = serde_json::from_str(text).map_err(|_| {
        ConnectError::Transient(format!(
            "HTTP {status} with a non-JSON body from {WS_ENDPOINT_PATH}"
        ))
    })?;
    let code = body.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let msg = body
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match code {
        0 => {}
        1 | 1000040343 | -1 => {
            return Err(ConnectError::Transient(format!(
                "code {code}: {msg} (HTTP {status})"
            )));
        }
        _ => return Err(ConnectError::Client { code, msg }),
    }
    let data: EndpointData = serde_json::from_value(body.get("data").cloned().unwrap_or_default())
        .map_err(|e| ConnectError::Transient(format!("unexpected connection answer: {e}")))?;
    let url = data
        .url
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ConnectError::Transient("the answer carries no URL".into()))?;
    let parsed = url::Url::parse(&url)
        .map_err(|e| ConnectError::Transient(format!("the connection URL is invalid: {e}")))?;
    let query = |key: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    Ok(ConnectionEndpoint {
        service_id: query("service_id").parse().unwrap_or(0),
        device_id: query("device_id"),
        url,
        config: data.client_config.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_gives_the_url_its_ids_and_the_config() {
        let text = r#"{"code":0,"msg":"ok","data":{"URL":"wss://msg-frontier.feishu.cn/ws/v2?fpid=493&aid=552564&device_id=7418&access_key=x&service_id=33554678&ticket=t","ClientConfig":{"ReconnectCount":-1,"ReconnectInterval":120,"ReconnectNonce":30,"PingInterval":90}}}"#;
        let endpoint = read_endpoint_answer(200, text).unwrap();
        assert_eq!(endpoint.service_id, 33554678);
        assert_eq!(endpoint.device_id, "7418");
        let mut config = ClientConfig::default();
        config.apply(&endpoint.config);
        assert_eq!(config.ping_interval, Duration::from_secs(90));
        assert_eq!(config.reconnect_count, -1);
    }

    #[test]
    fn codes_1_and_1000040343_are_retried_others_are_the_apps() {
        for code in [1, 1000040343] {
            let text = format!(r#"{{"code":{code},"msg":"system busy"}}"#);
            assert!(matches!(
                read_endpoint_answer(200, &text),
                Err(ConnectError::Transient(_))
            ));
        }
        let refused =
            read_endpoint_answer(200, r#"{"code":1000040344,"msg":"app secret invalid"}"#);
        assert!(matches!(
            refused,
            Err(ConnectError::Client {
                code: 1000040344,
                ..
            })
        ));
        let html = read_endpoint_answer(502, "<html>bad gateway</html>");
        assert!(matches!(html, Err(ConnectError::Transient(_))));
    }
}
