//! The long connection's wire format: every WebSocket message is one binary proto2
//! `pbbp2.Frame`, declared here by hand for prost (no protoc, no build script). Control
//! frames (`method` 0) carry pings and pongs, data frames (`method` 1) carry events, split
//! into fragments when the payload is large.

use std::collections::HashMap;
use std::time::Duration;

use prost::Message;
use tokio::time::Instant;

/// `Frame.method` of a control frame (ping, pong).
pub const METHOD_CONTROL: i32 = 0;
/// `Frame.method` of a data frame (an event).
pub const METHOD_DATA: i32 = 1;

/// One `pbbp2.Header`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Header {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// One `pbbp2.Frame`. Fields 1–4 are `required` in the schema, so they are always
/// encoded, zero values included.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Frame {
    #[prost(uint64, required, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub log_id: u64,
    #[prost(int32, required, tag = "3")]
    pub service: i32,
    #[prost(int32, required, tag = "4")]
    pub method: i32,
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Header>,
    #[prost(string, optional, tag = "6")]
    pub payload_encoding: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub payload_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "9")]
    pub log_id_new: Option<String>,
}

impl Frame {
    /// The ping the client sends right after connecting and every ping interval.
    pub fn ping(service_id: i32) -> Frame {
        Frame {
            service: service_id,
            method: METHOD_CONTROL,
            headers: vec![header("type", "ping")],
            ..Frame::default()
        }
    }

    /// The value of header `key`, if present.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }

    /// A header parsed as a number (`sum`, `seq`); absent or garbled: `None`.
    pub fn header_number(&self, key: &str) -> Option<usize> {
        self.header(key).and_then(|v| v.trim().parse().ok())
    }

    /// The acknowledgement of this data frame: the same frame (ids, service, method and
    /// headers) with `biz_rt` (milliseconds spent) added and the payload `{"code":200}`,
    /// or `{"code":500}` when the event could not be stored.
    pub fn ack(&self, stored: bool, spent: Duration) -> Frame {
        let mut ack = self.clone();
        ack.headers.retain(|h| h.key != "biz_rt");
        ack.headers
            .push(header("biz_rt", &spent.as_millis().to_string()));
        let code = if stored { 200 } else { 500 };
        ack.payload = Some(format!("{{\"code\":{code}}}").into_bytes());
        ack
    }

    /// The frame as bytes for a binary WebSocket message.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Parses one binary WebSocket message.
    pub fn from_bytes(bytes: &[u8]) -> Result<Frame, prost::DecodeError> {
        Frame::decode(bytes)
    }
}

/// A header pair.
pub fn header(key: &str, value: &str) -> Header {
    Header {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// Fragments of messages not yet complete, by `message_id`. An incomplete message is
/// dropped after `ttl` (on tokio's clock): Feishu re-sends the event, since it was never
/// acknowledged.
#[derive(Debug)]
pub struct Reassembly {
    ttl: Duration,
    pending: HashMap<String, Pending>,
}

#[derive(Debug)]
struct Pending {
    parts: Vec<Option<Vec<u8>>>,
    first_seen: Instant,
}

impl Reassembly {
    /// Keeps incomplete messages for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Reassembly {
            ttl,
            pending: HashMap::new(),
        }
    }

    /// Adds fragment `seq` (0-based) of `sum` of message `id`; returns the whole payload
    /// once every fragment is in, in `seq` order. A fragment out of range is ignored.
    pub fn add(&mut self, id: &str, sum: usize, seq: usize, part: Vec<u8>) -> Option<Vec<u8>> {
        let now = Instant::now();
        let ttl = self.ttl;
        self.pending
            .retain(|_, p| now.duration_since(p.first_seen) < ttl);
        if sum <= 1 {
            return Some(part);
        }
        if seq >= sum {
            tracing::warn!(message_id = id, sum, seq, "fragment out of range; ignored");
            return None;
        }
        let entry = self
            .pending
            .entry(id.to_string())
            .or_insert_with(|| Pending {
                parts: vec![None; sum],
                first_seen: now,
            });
        if entry.parts.len() != sum {
            entry.parts = vec![None; sum];
        }
        entry.parts[seq] = Some(part);
        if entry.parts.iter().any(Option::is_none) {
            return None;
        }
        let parts = self.pending.remove(id)?.parts;
        Some(parts.into_iter().flatten().flatten().collect())
    }

    /// Messages still waiting for fragments.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_fields_are_encoded_even_when_zero() {
        let bytes = Frame::ping(0).to_bytes();
        // Tags 1..4 as varints (field << 3 | 0), each followed by a zero.
        assert_eq!(&bytes[..8], &[0x08, 0, 0x10, 0, 0x18, 0, 0x20, 0]);
        let back = Frame::from_bytes(&bytes).unwrap();
        assert_eq!(back.header("type"), Some("ping"));
        assert_eq!(back.method, METHOD_CONTROL);
    }

    #[test]
    fn an_ack_echoes_the_frame_with_biz_rt_and_code() {
        let frame = Frame {
            seq_id: 7,
            log_id: 9,
            service: 33,
            method: METHOD_DATA,
            headers: vec![header("type", "event"), header("message_id", "m1")],
            payload: Some(b"{}".to_vec()),
            ..Frame::default()
        };
        let ack = frame.ack(true, Duration::from_millis(12));
        assert_eq!(
            (ack.seq_id, ack.log_id, ack.service, ack.method),
            (7, 9, 33, 1)
        );
        assert_eq!(ack.header("message_id"), Some("m1"));
        assert_eq!(ack.header("biz_rt"), Some("12"));
        assert_eq!(ack.payload.as_deref(), Some(&b"{\"code\":200}"[..]));
        let failed = frame.ack(false, Duration::ZERO);
        assert_eq!(failed.payload.as_deref(), Some(&b"{\"code\":500}"[..]));
    }

    #[test]
    fn fragments_are_joined_in_seq_order() {
        let mut r = Reassembly::new(Duration::from_secs(5));
        assert_eq!(r.add("m", 3, 2, b"c".to_vec()), None);
        assert_eq!(r.add("m", 3, 0, b"a".to_vec()), None);
        assert_eq!(r.pending(), 1);
        assert_eq!(r.add("m", 3, 1, b"b".to_vec()), Some(b"abc".to_vec()));
        assert_eq!(r.pending(), 0);
        assert_eq!(r.add("single", 1, 0, b"x".to_vec()), Some(b"x".to_vec()));
    }

    #[tokio::test(start_paused = true)]
    async fn an_incomplete_message_is_dropped_after_its_ttl() {
        let mut r = Reassembly::new(Duration::from_millis(1));
        assert_eq!(r.add("m", 2, 0, b"a".to_vec()), None);
        tokio::time::advance(Duration::from_millis(5)).await;
        // The first half expired: the second alone does not complete the message.
        assert_eq!(r.add("m", 2, 1, b"b".to_vec()), None);
        assert_eq!(r.pending(), 1);
    }
}
