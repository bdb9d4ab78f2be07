//! The retry loop's bookkeeping: where an exchange goes (a data endpoint or the token
//! endpoint), what one request's rounds have used, and the error each target gives.

use backon::{BackoffBuilder, ExponentialBuilder};
use secrecy::SecretString;

use crate::feishu::Endpoint;
use crate::feishu::error::{ApiError, LogId};

/// What one request's rounds have used so far.
pub(super) struct Rounds {
    pub(super) attempts: u32,
    pub(super) rate_waits: u32,
    /// The token refused once; a second refusal ends the request.
    pub(super) refused_token: Option<SecretString>,
    pub(super) backoff: backon::ExponentialBackoff,
}

impl Rounds {
    pub(super) fn new(retry: &ExponentialBuilder) -> Self {
        Rounds {
            attempts: 0,
            rate_waits: 0,
            refused_token: None,
            backoff: retry.build(),
        }
    }
}

/// Where an exchange goes: a data endpoint (budgeted, with a token) or the token endpoint.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    Api(Endpoint),
    Token,
}

impl Target {
    /// A `code != 0` answer as an error of this target.
    pub(super) fn failed(
        self,
        http_status: u16,
        code: i64,
        msg: String,
        log_id: LogId,
    ) -> ApiError {
        match self {
            Target::Api(endpoint) => ApiError::Api {
                endpoint,
                http_status,
                code,
                msg,
                log_id,
            },
            Target::Token => ApiError::Token { code, msg, log_id },
        }
    }

    /// A token refused again after asking for a new one (`same_token`: the token endpoint
    /// handed back the refused one), or by the token endpoint itself.
    pub(super) fn token_rejected(
        self,
        code: i64,
        msg: String,
        log_id: LogId,
        same_token: bool,
    ) -> ApiError {
        match self {
            Target::Api(endpoint) => ApiError::TokenRejected {
                endpoint,
                code,
                msg,
                log_id,
                same_token,
            },
            Target::Token => ApiError::Token { code, msg, log_id },
        }
    }

    /// Frequency limits outlasted every allowed wait.
    pub(super) fn still_rate_limited(self, waits: u32, log_id: LogId) -> ApiError {
        match self {
            Target::Api(endpoint) => ApiError::RateLimited {
                endpoint,
                waits,
                log_id,
            },
            Target::Token => ApiError::Unavailable {
                endpoint: self.to_string(),
                attempts: waits + 1,
                last: "still rate limited".to_string(),
                log_id,
            },
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Api(endpoint) => endpoint.fmt(f),
            Target::Token => f.write_str("tenant_access_token"),
        }
    }
}
