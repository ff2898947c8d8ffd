//! The trait a plugin implements.

use serde_json::Value;

use crate::strategy::{Credentials, Verdict};
use crate::{ApiError, Manifest, Payload, Request, Response};

/// A Palisade plugin. Implement it on a type and export that type with
/// [`export_plugin!`](crate::export_plugin).
///
/// The functions take no `self` because a call may run in a new instance or in one that an
/// earlier call left. A plugin implements only the extension points its manifest lists, and the
/// host calls no others.
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
    fn handle(request: Request<'_>) -> Result<Response, ApiError> {
        Err(ApiError::action_not_found(
            request.controller(),
            request.action(),
        ))
    }

    /// Runs the pipe for `event` and returns the payload for the next pipe. The default returns
    /// `payload` unchanged. The payload is parsed only when the pipe reads it, and returned
    /// unchanged it goes back to the host as the text that came.
    ///
    /// # Errors
    ///
    /// An error aborts the request and reaches the client unchanged.
    fn pipe(event: &str, request: Request<'_>, payload: Payload) -> Result<Payload, ApiError> {
        let _ = (event, request);
        Ok(payload)
    }

    /// Observes `event` after the fact. The default does nothing. A hook returns nothing, so it
    /// cannot fail the request: log what goes wrong with [`log`](crate::log).
    fn hook(event: &str, request: Request<'_>, payload: Value) {
        let _ = (event, request, payload);
    }

    /// Checks a login attempt for the strategy `strategy`, one the manifest lists.
    /// `credentials` is the login body, or over HTTP `GET` and `POST /_login/<strategy>` the
    /// query-string and form fields. The default rejects every login.
    ///
    /// # Errors
    ///
    /// Failures other than wrong credentials, such as an unreachable identity provider: wrong
    /// credentials are a [`Verdict::Rejected`].
    fn verify(
        strategy: &str,
        credentials: Value,
        request: Request<'_>,
    ) -> Result<Verdict, ApiError> {
        let _ = (credentials, request);
        Err(unknown_strategy(strategy))
    }

    /// Checks new credentials of user `kuid` and returns what the host stores. The default
    /// rejects them.
    ///
    /// # Errors
    ///
    /// Usually a 400 `security.credentials.rejected` naming the bad field.
    fn create_credentials(
        strategy: &str,
        kuid: &str,
        credentials: Value,
    ) -> Result<Credentials, ApiError> {
        let _ = (kuid, credentials);
        Err(unknown_strategy(strategy))
    }

    /// Checks a change to the credentials `current` of user `kuid` and returns what the host
    /// stores instead. The default rejects it.
    ///
    /// # Errors
    ///
    /// Usually a 400 `security.credentials.rejected` naming the bad field.
    fn update_credentials(
        strategy: &str,
        kuid: &str,
        credentials: Value,
        current: Credentials,
    ) -> Result<Credentials, ApiError> {
        let _ = (kuid, credentials, current);
        Err(unknown_strategy(strategy))
    }

    /// Checks credentials without storing them: as a creation when `current` is `None`, else as
    /// an update. The default runs [`Plugin::create_credentials`] or
    /// [`Plugin::update_credentials`] and drops the result.
    ///
    /// # Errors
    ///
    /// The error of the creation or update.
    fn validate_credentials(
        strategy: &str,
        kuid: &str,
        credentials: Value,
        current: Option<Credentials>,
    ) -> Result<(), ApiError> {
        match current {
            None => Self::create_credentials(strategy, kuid, credentials).map(drop),
            Some(current) => {
                Self::update_credentials(strategy, kuid, credentials, current).map(drop)
            }
        }
    }

    /// Runs before the host deletes the credentials `current` of user `kuid`. The default
    /// accepts.
    ///
    /// # Errors
    ///
    /// An error keeps the credentials.
    fn delete_credentials(
        strategy: &str,
        kuid: &str,
        current: Credentials,
    ) -> Result<(), ApiError> {
        let _ = (strategy, kuid, current);
        Ok(())
    }

    /// Returns what a client may see of the credentials `current` of user `kuid`, without
    /// secrets. The default returns `{"kuid", "subject"}`.
    ///
    /// # Errors
    ///
    /// The error reaches the client unchanged.
    fn credentials_info(
        strategy: &str,
        kuid: &str,
        current: Credentials,
    ) -> Result<Value, ApiError> {
        let _ = strategy;
        Ok(serde_json::json!({"kuid": kuid, "subject": current.subject}))
    }
}

/// The error of a strategy function that the plugin does not implement.
fn unknown_strategy(strategy: &str) -> ApiError {
    ApiError::new(
        400,
        "security.credentials.unknown_strategy",
        format!("This plugin does not implement the strategy \"{strategy}\"."),
    )
    .prop(strategy)
}
