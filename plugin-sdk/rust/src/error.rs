//! Errors that a plugin returns to the client with their own status and id.

use std::fmt;

use crate::bindings::palisade::plugin::types;

/// An API error: an HTTP-like status, an id in Kuzzle's `domain.subdomain.error` form, a message
/// and the values the message names (`props`). The host sends it to the client unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP-like status, such as 400.
    pub status: u16,
    /// Error id, such as `api.assert.missing_argument`.
    pub id: String,
    /// Message for the client: what failed, on which value, and how to fix it.
    pub message: String,
    /// The values the message names.
    pub props: Vec<String>,
}

impl ApiError {
    /// Creates an error without props.
    pub fn new(status: u16, id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            id: id.into(),
            message: message.into(),
            props: Vec::new(),
        }
    }

    /// Appends one value to the props.
    pub fn prop(mut self, value: impl Into<String>) -> Self {
        self.props.push(value.into());
        self
    }

    /// Creates a 400 `api.assert.missing_argument` error for the argument `name`.
    pub fn missing_argument(name: &str) -> Self {
        Self::new(
            400,
            "api.assert.missing_argument",
            format!("Missing argument \"{name}\"."),
        )
        .prop(name)
    }

    /// Creates a 400 `api.assert.invalid_type` error for the argument `name`, which must be of
    /// type `expected` (such as `string`).
    pub fn invalid_type(name: &str, expected: &str) -> Self {
        Self::new(
            400,
            "api.assert.invalid_type",
            format!("Wrong type for argument \"{name}\" (expected: {expected})."),
        )
        .prop(name)
        .prop(expected)
    }

    /// Creates a 404 `api.process.action_not_found` error for `controller:action`.
    pub fn action_not_found(controller: &str, action: &str) -> Self {
        Self::new(
            404,
            "api.process.action_not_found",
            format!("API action \"{controller}\":\"{action}\" not found."),
        )
        .prop(controller)
        .prop(action)
    }

    /// Creates a 500 `plugin.runtime.unexpected_error` error, for failures that are the plugin's
    /// or the host's fault rather than the client's.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "plugin.runtime.unexpected_error", message)
    }

    /// Returns whether the error reports that the index, collection or document already exists,
    /// as Kuzzle's `*.already_exists` ids and the 412 status do.
    pub fn is_already_exists(&self) -> bool {
        self.status == 412 || self.id.ends_with("already_exists")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} ({}): {}", self.id, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<types::ApiError> for ApiError {
    fn from(error: types::ApiError) -> Self {
        Self {
            status: error.status,
            id: error.id,
            message: error.message,
            props: error.props,
        }
    }
}

impl From<ApiError> for types::ApiError {
    fn from(error: ApiError) -> Self {
        Self {
            status: error.status,
            id: error.id,
            message: error.message,
            props: error.props,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_argument_names_argument() {
        let error = ApiError::missing_argument("name");

        assert_eq!(error.status, 400);
        assert_eq!(error.id, "api.assert.missing_argument");
        assert_eq!(error.message, "Missing argument \"name\".");
        assert_eq!(error.props, ["name"]);
    }

    #[test]
    fn builder_appends_props() {
        let error = ApiError::new(403, "greeting.rights.denied", "Denied.")
            .prop("a")
            .prop("b");

        assert_eq!(error.props, ["a", "b"]);
    }

    #[test]
    fn already_exists_detected() {
        let by_id = ApiError::new(400, "services.storage.index_already_exists", "Exists.");
        let by_status = ApiError::new(412, "services.storage.other", "Exists.");
        let other = ApiError::new(404, "services.storage.unknown_index", "Missing.");

        assert!(by_id.is_already_exists());
        assert!(by_status.is_already_exists());
        assert!(!other.is_already_exists());
    }
}
