//! Everything that talks to the Feishu Open Platform: endpoints, the shared client, its
//! token cache, request budgets, pagination and typed errors.

pub mod budget;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod paging;
pub mod token;

pub use client::{ApiReply, ApiRequest, ClientSettings, FeishuClient};
pub use endpoint::{Endpoint, Method, TOKEN_PATH};
pub use error::{ApiError, LogId};
pub use paging::{Page, Pager, PagingEnd};
