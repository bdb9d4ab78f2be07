//! One long connection to Feishu, kept open for the life of the service: fetch a URL,
//! open the WebSocket, ping every `PingInterval`, reassemble fragments, commit each event
//! to the inbox and only then acknowledge it, and reconnect after a close, an error or a
//! silence of two ping intervals (half-open sockets happen). A refusal that is the app's
//! (credentials, console settings, the connection limit) is logged once and retried only
//! rarely, so a fixed console recovers without a restart and a wrong one is not hammered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{self, Message};

use super::frame::{Frame, METHOD_CONTROL, METHOD_DATA, Reassembly};
use super::inbox::{self, Envelope};
use super::status::SharedStatus;
use crate::feishu::FeishuClient;
use crate::feishu::long_connection::{ClientConfig, ConnectError, WireClientConfig};
use crate::metrics::Metrics;
use crate::shutdown::CancellationToken;

/// How long a refused app waits before asking again.
const REFUSED_RETRY: Duration = Duration::from_secs(600);
/// An event that cannot be committed within this is acknowledged with 500 (Feishu sends
/// it again), so a database outage never holds the socket.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);
/// Fragments of a message that does not complete within this are dropped.
const FRAGMENT_TTL: Duration = Duration::from_secs(5);
/// The WebSocket handshake's own timeout.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the connection needs.
#[derive(Clone)]
pub struct Connection {
    pub client: Arc<FeishuClient>,
    pub pool: PgPool,
    pub status: SharedStatus,
    pub metrics: Arc<Metrics>,
    /// Woken when a new event is committed, so the processor applies it at once.
    pub wake: Arc<Notify>,
    pub shutdown: CancellationToken,
    /// `feishu.event_connections.process` of this process.
    pub process: String,
}

/// How one session ended.
enum Ended {
    Shutdown,
    /// The socket was open and was lost.
    Lost(String),
    /// No socket was opened.
    Failed(ConnectError),
}

impl Connection {
    /// Keeps a connection open until the shutdown; then closes the socket cleanly.
    pub async fn run(self) {
        let mut config = ClientConfig::default();
        let mut attempt: i64 = 0;
        let mut opened_before = false;
        let mut last_logged: Option<String> = None;
        loop {
            let (ended, opened) = self.session(&mut config, opened_before).await;
            opened_before |= opened;
            if opened {
                attempt = 0;
            }
            let wait = match ended {
                Ended::Shutdown => break,
                Ended::Lost(reason) => {
                    tracing::warn!(%reason, "long connection lost; reconnecting");
                    self.status.lost(&reason, false);
                    attempt = 0;
                    jitter(config.reconnect_nonce)
                }
                Ended::Failed(ConnectError::Client { code, msg }) => {
                    let error = ConnectError::Client { code, msg }.to_string();
                    if last_logged.as_deref() != Some(error.as_str()) {
                        tracing::error!(%error, "long connection refused; asking again every 10 minutes");
                        last_logged = Some(error.clone());
                    }
                    self.status.lost(&error, true);
                    REFUSED_RETRY
                }
                Ended::Failed(error) => {
                    let error = error.to_string();
                    tracing::warn!(%error, attempt, "cannot open the long connection");
                    self.status.lost(&error, false);
                    attempt += 1;
                    match (config.reconnect_count, attempt) {
                        (count, n) if count >= 0 && n > count => REFUSED_RETRY,
                        (_, 1) => jitter(config.reconnect_nonce),
                        _ => config.reconnect_interval,
                    }
                }
            };
            self.metrics.ws_connected(false);
            let _ = self.status.save(&self.pool, &self.process).await;
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        self.metrics.ws_connected(false);
        self.status.lost("stopped", false);
        let _ = self.status.save(&self.pool, &self.process).await;
        tracing::info!("long connection closed");
    }

    /// One connection from URL to loss; says whether a socket was opened.
    async fn session(&self, config: &mut ClientConfig, opened_before: bool) -> (Ended, bool) {
        let endpoint = tokio::select! {
            _ = self.shutdown.cancelled() => return (Ended::Shutdown, false),
            endpoint = self.client.long_connection_endpoint() => endpoint,
        };
        let endpoint = match endpoint {
            Ok(endpoint) => endpoint,
            Err(error) => return (Ended::Failed(error), false),
        };
        config.apply(&endpoint.config);
        let opened = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            tokio_tungstenite::connect_async(endpoint.url.as_str()),
        )
        .await;
        let socket = match opened {
            Err(_) => {
                return (
                    Ended::Failed(ConnectError::Transient("the handshake timed out".into())),
                    false,
                );
            }
            Ok(Err(error)) => return (Ended::Failed(handshake_error(error)), false),
            Ok(Ok((socket, _))) => socket,
        };
        if opened_before {
            self.metrics.ws_reconnected();
            self.status.reconnected();
        }
        self.status.connected();
        self.metrics.ws_connected(true);
        let _ = self.status.save(&self.pool, &self.process).await;
        tracing::info!(device_id = endpoint.device_id, "long connection open");
        (
            self.converse(socket, config, endpoint.service_id).await,
            true,
        )
    }

    /// Pings, reads and acknowledges until the socket is lost or the service stops.
    async fn converse<S>(
        &self,
        socket: tokio_tungstenite::WebSocketStream<S>,
        config: &mut ClientConfig,
        service_id: i32,
    ) -> Ended
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = socket.split();
        let mut fragments = Reassembly::new(FRAGMENT_TTL);
        let mut last_frame = Instant::now();
        let mut ping = ping_timer(config.ping_interval, true);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => {
                    let _ = sink.send(Message::Close(None)).await;
                    let _ = sink.close().await;
                    return Ended::Shutdown;
                }
                _ = ping.tick() => {
                    let silence = last_frame.elapsed();
                    if let Err(ended) = self.keep_alive(&mut sink, silence, config, service_id).await {
                        return ended;
                    }
                }
                message = stream.next() => {
                    let read = match binary_of(message) {
                        Ok(read) => read,
                        Err(ended) => return ended,
                    };
                    last_frame = Instant::now();
                    let Some(bytes) = read else { continue };
                    self.status.frame();
                    let Ok(frame) = Frame::from_bytes(&bytes) else {
                        tracing::warn!(len = bytes.len(), "unreadable frame; ignored");
                        continue;
                    };
                    match frame.method {
                        METHOD_CONTROL => {
                            if self.on_control(&frame, config) {
                                ping = ping_timer(config.ping_interval, false);
                            }
                        }
                        METHOD_DATA => {
                            if let Some(ack) = self.on_data(frame, &mut fragments).await
                                && let Err(e) = sink.send(Message::Binary(ack.to_bytes().into())).await
                            {
                                return Ended::Lost(format!("sending an acknowledgement: {e}"));
                            }
                        }
                        other => tracing::debug!(method = other, "frame of an unknown method; ignored"),
                    }
                }
            }
        }
    }

    /// One tick of the ping timer: the connection is lost after two intervals of silence (a
    /// half-open socket), else a ping goes out and the status row is refreshed.
    async fn keep_alive<Si>(
        &self,
        sink: &mut Si,
        silence: Duration,
        config: &ClientConfig,
        service_id: i32,
    ) -> Result<(), Ended>
    where
        Si: futures::Sink<Message, Error = tungstenite::Error> + Unpin,
    {
        if silence > config.ping_interval * 2 + Duration::from_secs(1) {
            return Err(Ended::Lost(format!("no frame for {} s", silence.as_secs())));
        }
        if let Err(e) = sink
            .send(Message::Binary(Frame::ping(service_id).to_bytes().into()))
            .await
        {
            return Err(Ended::Lost(format!("sending a ping: {e}")));
        }
        let _ = self.status.save(&self.pool, &self.process).await;
        Ok(())
    }

    /// A pong may carry a new client configuration; returns whether the ping interval
    /// changed.
    fn on_control(&self, frame: &Frame, config: &mut ClientConfig) -> bool {
        if frame.header("type") != Some("pong") {
            return false;
        }
        let Some(wire) = frame
            .payload
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| serde_json::from_slice::<WireClientConfig>(p).ok())
        else {
            return false;
        };
        let before = config.ping_interval;
        config.apply(&wire);
        before != config.ping_interval
    }

    /// A data frame: once its message is whole, commit the event and build the
    /// acknowledgement (500 when it could not be committed).
    async fn on_data(&self, mut frame: Frame, fragments: &mut Reassembly) -> Option<Frame> {
        let started = Instant::now();
        let sum = frame.header_number("sum").unwrap_or(1);
        let seq = frame.header_number("seq").unwrap_or(0);
        let message_id = frame.header("message_id").unwrap_or_default().to_string();
        let part = frame.payload.take().unwrap_or_default();
        let payload = fragments.add(&message_id, sum, seq, part)?;
        let stored = match frame.header("type") {
            Some("event") => self.store(&payload).await,
            // Card callbacks and other kinds carry nothing to store.
            _ => true,
        };
        Some(frame.ack(stored, started.elapsed()))
    }

    /// Commits one event to the inbox; false if it could not be (the ack says 500).
    async fn store(&self, payload: &[u8]) -> bool {
        let Ok(json) = serde_json::from_slice::<Value>(payload) else {
            tracing::warn!(
                len = payload.len(),
                "an event that is not JSON; acknowledged and dropped"
            );
            self.metrics.event("", "unreadable");
            return true;
        };
        let Some(envelope) = Envelope::read(&json) else {
            tracing::warn!("an event without an event id; acknowledged and dropped");
            self.metrics.event("", "unreadable");
            return true;
        };
        let stored =
            tokio::time::timeout(STORE_TIMEOUT, inbox::store(&self.pool, &envelope, &json)).await;
        let outcome = match stored {
            Ok(Ok(true)) => {
                self.wake.notify_one();
                "stored"
            }
            Ok(Ok(false)) => "duplicate",
            Ok(Err(error)) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    event_id = envelope.event_id,
                    "cannot store an event; acknowledging 500 so Feishu sends it again"
                );
                "store_failed"
            }
            Err(_) => {
                tracing::warn!(
                    event_id = envelope.event_id,
                    "storing an event timed out; acknowledging 500 so Feishu sends it again"
                );
                "store_failed"
            }
        };
        self.metrics.event(&envelope.event_type, outcome);
        outcome != "store_failed"
    }
}

/// A random wait in `[0, nonce)`.
fn jitter(nonce: Duration) -> Duration {
    match nonce.as_millis() as u64 {
        0 => Duration::ZERO,
        ms => Duration::from_millis(rand::rng().random_range(0..ms)),
    }
}

/// What one read of the socket gives `converse`: a binary frame's bytes, `None` for any
/// other message (still a sign of life), or how the connection ended, so the read loop's
/// `select!` keeps only the frame handling.
fn binary_of(
    message: Option<Result<Message, tungstenite::Error>>,
) -> Result<Option<tungstenite::Bytes>, Ended> {
    match message {
        None => Err(Ended::Lost("the server closed the socket".into())),
        Some(Err(e)) => Err(Ended::Lost(format!("reading the socket: {e}"))),
        Some(Ok(Message::Close(frame))) => Err(Ended::Lost(format!(
            "the server closed the socket: {frame:?}"
        ))),
        Some(Ok(Message::Binary(bytes))) => Ok(Some(bytes)),
        Some(Ok(_)) => Ok(None),
    }
}

/// Pings right away (`now`) or after one interval, then every interval.
fn ping_timer(interval: Duration, now: bool) -> tokio::time::Interval {
    let interval = interval.max(Duration::from_millis(100));
    let start = match now {
        true => tokio::time::Instant::now(),
        false => tokio::time::Instant::now() + interval,
    };
    let mut timer = tokio::time::interval_at(start, interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer
}

/// A refused handshake says why in `Handshake-Status` (403, 514) and
/// `Handshake-Autherrcode` (1000040350: the app's connection limit): the app's problem.
fn handshake_error(error: tungstenite::Error) -> ConnectError {
    let tungstenite::Error::Http(response) = &error else {
        return ConnectError::Transient(format!("opening the WebSocket: {error}"));
    };
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = header("handshake-status").and_then(|s| s.parse::<i64>().ok());
    let msg = header("handshake-msg").unwrap_or_default();
    let auth = header("handshake-autherrcode").and_then(|s| s.parse::<i64>().ok());
    match (status, auth) {
        (_, Some(code)) => ConnectError::Client { code, msg },
        (Some(code @ (403 | 514)), None) => ConnectError::Client { code, msg },
        _ => ConnectError::Transient(format!(
            "the WebSocket handshake was refused: HTTP {}",
            response.status()
        )),
    }
}
