//! The trait a plugin implements.

use serde_json::Value;

use crate::{ApiError, Manifest, Request, Response};

/// A Palisade plugin. Implement it on a type and export that type with
/// [`export_plugin!`](crate::export_plugin).
///
/// The functions take no `self` because the host runs every call in a fresh instance. A plugin
/// implements only the extension points its manifest lists, and the host calls no others.
pub trait Plugin {
    /// Starts the plugin with its `settings` (the JSON object of its configuration, `{}` when it
    /// has none) and returns what it adds to the server.
    ///
    /// # Errors
    ///
    /// An error keeps the plugin from loading; the host logs it and shows it in `server:info`.
    fn init(settings: Value) -> Result<Manifest, ApiError>;

    /// Runs `request.controller`:`request.action` for an action the manifest lists. The default
    /// returns a 404 `api.process.action_not_found` error.
    ///
    /// # Errors
    ///
    /// The error reaches the client unchanged.
    fn handle(request: Request) -> Result<Response, ApiError> {
        Err(ApiError::action_not_found(
            &request.controller,
            &request.action,
        ))
    }

    /// Runs the pipe for `event` and returns the payload for the next pipe. The default returns
    /// `payload` unchanged.
    ///
    /// # Errors
    ///
    /// An error aborts the request and reaches the client unchanged.
    fn pipe(event: &str, request: Request, payload: Value) -> Result<Value, ApiError> {
        let _ = (event, request);
        Ok(payload)
    }

    /// Observes `event` after the fact. The default does nothing. A hook returns nothing, so it
    /// cannot fail the request: log what goes wrong with [`log`](crate::log).
    fn hook(event: &str, request: Request, payload: Value) {
        let _ = (event, request, payload);
    }
}
