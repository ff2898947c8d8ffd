//! Outbound HTTP, limited to the hosts the operator allowed in the plugin's configuration.

use crate::ApiError;
pub use crate::bindings::palisade::plugin::http::{IncomingResponse, OutgoingRequest};

/// Sends `request` through the host.
///
/// # Errors
///
/// A 403 error for a host the operator did not allow, a 504 error on timeout, and the host's
/// error for any other failure.
pub fn send(request: &OutgoingRequest) -> Result<IncomingResponse, ApiError> {
    crate::bindings::palisade::plugin::http::send(request).map_err(ApiError::from)
}
