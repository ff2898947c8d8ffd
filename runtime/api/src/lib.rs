//! The request and response model of the Kuzzle v2 API and its error catalogue.
//!
//! Every protocol (HTTP routes, `POST /_query`, WebSocket frames, plugin calls) decodes its input
//! into one [`Request`] and encodes one [`Response`] or [`ApiError`] back, so the rules for
//! arguments, envelopes and errors live here once.

mod catalogue;
mod error;
mod json;
mod request;
mod response;

pub use catalogue::ErrorId;
pub use error::ApiError;
pub use json::json_text;
pub use request::{Protocol, Request, RequestContext, RunAs, new_request_id};
pub use response::{ChunkStream, RawBody, Response, StreamedBody, envelope, error_envelope};

/// The result type of every controller action.
pub type ApiResult<T = Response> = Result<T, ApiError>;
