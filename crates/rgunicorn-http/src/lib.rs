//! Sans-I/O HTTP/1.x: request heads, body framing, response heads, and the error → status table.
//!
//! Nothing here touches a socket or Python. Workers feed bytes in and get back "need more",
//! a parsed value with the number of bytes it used, or an [`HttpError`] that knows its status.

pub mod body;
pub mod errors;
pub mod forwarded;
mod limits;
pub mod request;
pub mod response;
mod token;
pub mod uri;

pub use body::{BodyFraming, ChunkedDecoder};
pub use errors::HttpError;
pub use request::{max_head_len, parse_request_head, HeaderMapPolicy, Limits, RequestHead, Version};
