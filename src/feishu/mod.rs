//! Everything that talks to the Feishu Open Platform: endpoints, the shared client, its
//! token cache, request budgets, pagination and typed errors.

pub mod answer;
pub mod budget;
pub mod client;
pub mod error;
pub mod long_connection;
pub mod paging;
pub mod quota;
pub mod request;
pub mod scrub;
pub mod token;
pub mod user_id_type;

pub use client::{ApiReply, ApiRequest, ClientSettings, FeishuClient};
pub use error::{ApiError, LogId};
pub use feishu_endpoints::{Endpoint, Method, TOKEN_PATH};
pub use paging::{Page, Pager, PagingEnd};
pub use quota::QuotaStop;
pub use user_id_type::UserIdType;
