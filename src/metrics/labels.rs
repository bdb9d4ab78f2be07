//! The label sets of the metrics (stream, endpoint, outcome, event type) and the outcomes
//! a request can come to, as `/metrics` spells them.

use prometheus_client::encoding::EncodeLabelSet;

use crate::feishu::Endpoint;

/// Label of per-stream metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabel {
    pub stream: String,
}

/// Label of per-stream-and-outcome metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub stream: String,
    pub outcome: String,
}

/// Label of per-endpoint metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    pub endpoint: String,
}

/// Label of per-endpoint-and-outcome metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabel {
    pub endpoint: String,
    pub outcome: String,
}

/// Label of the event counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabel {
    pub r#type: String,
    pub outcome: String,
}

/// What one HTTP exchange with Feishu came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    Ok,
    ApiError,
    RateLimited,
    TokenRejected,
    QuotaExhausted,
    Transient,
}

impl RequestOutcome {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::ApiError => "api_error",
            RequestOutcome::RateLimited => "rate_limited",
            RequestOutcome::TokenRejected => "token_rejected",
            RequestOutcome::QuotaExhausted => "quota_exhausted",
            RequestOutcome::Transient => "transient",
        }
    }
}

/// The label of `endpoint`'s stream.
pub(super) fn stream(endpoint: Endpoint) -> StreamLabel {
    StreamLabel {
        stream: endpoint.name().to_string(),
    }
}
