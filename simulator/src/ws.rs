//! The long connection: `POST /callback/ws/endpoint` hands out a WebSocket URL and the
//! client configuration, and the socket carries binary `pbbp2.Frame`s: pings answered with
//! pongs, events sent as data frames (split into fragments when asked), acknowledgements
//! read back. An event without a `{"code":200}` acknowledgement is sent again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message as _;
use serde_json::{Value, json};

use super::events::Outgoing;
use super::state::{Shared, lock};

/// Path of the WebSocket the endpoint's URL points to.
pub(crate) const SOCKET_PATH: &str = "/sim/ws";
/// The service id the URL carries and frames repeat.
const SERVICE_ID: i32 = 4242;

/// `pbbp2.Header`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Header {
    #[prost(string, required, tag = "1")]
    pub(crate) key: String,
    #[prost(string, required, tag = "2")]
    pub(crate) value: String,
}

/// `pbbp2.Frame`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Frame {
    #[prost(uint64, required, tag = "1")]
    pub(crate) seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub(crate) log_id: u64,
    #[prost(int32, required, tag = "3")]
    pub(crate) service: i32,
    #[prost(int32, required, tag = "4")]
    pub(crate) method: i32,
    #[prost(message, repeated, tag = "5")]
    pub(crate) headers: Vec<Header>,
    #[prost(string, optional, tag = "6")]
    pub(crate) payload_encoding: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub(crate) payload_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub(crate) payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "9")]
    pub(crate) log_id_new: Option<String>,
}

fn h(key: &str, value: impl ToString) -> Header {
    Header {
        key: key.to_string(),
        value: value.to_string(),
    }
}

impl Frame {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|x| x.key == key)
            .map(|x| x.value.as_str())
    }
}

fn client_config(shared: &Shared) -> Value {
    let controls = &lock(&shared.events).controls;
    json!({
        "ReconnectCount": -1,
        "ReconnectInterval": 1,
        "ReconnectNonce": 1,
        "PingInterval": controls.ping_interval_secs,
    })
}

fn json_reply(body: Value) -> Response {
    let content_type = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
    (StatusCode::OK, content_type, body.to_string()).into_response()
}

/// `POST /callback/ws/endpoint` with `{"AppID","AppSecret"}`.
pub(crate) async fn endpoint(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refused = {
        let mut hub = lock(&shared.events);
        hub.endpoint_requests += 1;
        hub.listening = true;
        hub.controls.refuse_endpoint.clone()
    };
    if let Some((code, msg)) = refused {
        return json_reply(json!({ "code": code, "msg": msg }));
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    if field("AppID") != shared.config.app_id || field("AppSecret") != shared.config.app_secret {
        return json_reply(json!({ "code": 1000040344, "msg": "app id or secret is invalid" }));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let device: u32 = rand::random();
    let url = format!("ws://{host}{SOCKET_PATH}?device_id={device}&service_id={SERVICE_ID}");
    let answer = json!({
        "code": 0,
        "msg": "ok",
        "data": { "URL": url, "ClientConfig": client_config(&shared) },
    });
    json_reply(answer)
}

/// The WebSocket handshake: refused when a test asks, else the session.
pub(crate) async fn socket(
    State(shared): State<Arc<Shared>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let refusal = lock(&shared.events).controls.refuse_handshake;
    if let Some((status, auth_code)) = refusal {
        let mut response = (StatusCode::FORBIDDEN, "handshake refused").into_response();
        let headers = response.headers_mut();
        headers.insert("handshake-status", status.into());
        headers.insert(
            "handshake-msg",
            "refused by the simulator".parse().expect("ascii"),
        );
        if let Some(code) = auth_code {
            headers.insert("handshake-autherrcode", code.into());
        }
        return response;
    }
    upgrade.on_upgrade(move |socket| session(shared, socket))
}

/// One connection: answers pings, sends due events, reads acknowledgements, until the
/// client closes it or a test drops it.
async fn session(shared: Arc<Shared>, mut socket: WebSocket) {
    let generation = lock(&shared.events).controls.drop_generation;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut seq_id = 0u64;
    loop {
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Some(reply) = on_frame(&shared, &bytes)
                        && socket.send(Message::Binary(reply.into())).await.is_err()
                    {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = tick.tick() => {
                let (due, controls) = {
                    let mut hub = lock(&shared.events);
                    if hub.controls.drop_generation != generation {
                        return; // dropped: no close frame, as a broken network would
                    }
                    (hub.due(Instant::now()), hub.controls.clone())
                };
                for event in due {
                    let copies = if controls.duplicate { 2 } else { 1 };
                    for _ in 0..copies {
                        for frame in fragments(&event, controls.fragments, &mut seq_id) {
                            lock(&shared.events).frames_sent += 1;
                            if socket.send(Message::Binary(frame.encode_to_vec().into())).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A ping gets a pong carrying the client configuration; an ack settles its event.
fn on_frame(shared: &Shared, bytes: &[u8]) -> Option<Vec<u8>> {
    let frame = Frame::decode(bytes).ok()?;
    match (frame.method, frame.header("type")) {
        (0, Some("ping")) => {
            if lock(&shared.events).controls.silent {
                return None;
            }
            let pong = Frame {
                service: frame.service,
                method: 0,
                headers: vec![h("type", "pong")],
                payload: Some(client_config(shared).to_string().into_bytes()),
                ..Frame::default()
            };
            Some(pong.encode_to_vec())
        }
        (1, _) => {
            let event_id = frame.header("event_id")?.to_string();
            let code = frame
                .payload
                .as_deref()
                .and_then(|p| serde_json::from_slice::<Value>(p).ok())
                .and_then(|v| v.get("code").and_then(Value::as_i64))
                .unwrap_or(0);
            let has_biz_rt = frame.header("biz_rt").is_some();
            lock(&shared.events).ack(&event_id, if has_biz_rt { code } else { 0 });
            None
        }
        _ => None,
    }
}

/// The data frames of one event: `parts` fragments (`sum`, `seq` from 0) sharing a
/// `message_id`. The simulator's own `event_id` header lets it match the ack.
fn fragments(event: &Outgoing, parts: usize, seq_id: &mut u64) -> Vec<Frame> {
    let parts = parts.clamp(1, event.payload.len().max(1));
    let size = event.payload.len().div_ceil(parts).max(1);
    let message_id = format!("msg-{}", rand::random::<u64>());
    let chunks: Vec<&[u8]> = event.payload.chunks(size).collect();
    let sum = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(seq, chunk)| {
            *seq_id += 1;
            Frame {
                seq_id: *seq_id,
                log_id: rand::random::<u32>().into(),
                service: SERVICE_ID,
                method: 1,
                headers: vec![
                    h("type", "event"),
                    h("message_id", &message_id),
                    h("sum", sum),
                    h("seq", seq),
                    h("trace_id", format!("trace-{}", *seq_id)),
                    h("event_id", &event.event_id),
                ],
                payload: Some(chunk.to_vec()),
                ..Frame::default()
            }
        })
        .collect()
}
