//! The API error object: the same JSON on every protocol.

use serde_json::{Map, Value, json};

use crate::ErrorId;

/// An error returned to a client: a catalogue id, a message and the values the message names.
///
/// It serializes to Kuzzle's error object:
/// `{message, status, id, code, props}`, plus `errors` and `count` for multiple-error responses.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    id: ErrorId,
    message: String,
    props: Vec<String>,
    status: Option<u16>,
    errors: Option<Vec<Value>>,
    /// An id outside the catalogue, chosen by a plugin; `id` is then
    /// `plugin.runtime.unexpected_error` for code that matches on catalogue ids.
    custom_id: Option<Box<str>>,
}

impl ApiError {
    /// Creates an error with a catalogue id and a complete message.
    pub fn new(id: ErrorId, message: impl Into<String>) -> Self {
        Self {
            id,
            message: message.into(),
            props: Vec::new(),
            status: None,
            errors: None,
            custom_id: None,
        }
    }

    /// Creates the error a plugin returned, keeping its status and id unchanged: a catalogue id
    /// keeps its code, and an id of the plugin's own (`domain.subdomain.error`) gets code 0.
    pub fn from_plugin(status: u16, id: &str, message: impl Into<String>) -> Self {
        match ErrorId::from_name(id) {
            Some(known) => Self::new(known, message).with_status(status),
            None => {
                let mut error =
                    Self::new(ErrorId::PluginRuntimeUnexpectedError, message).with_status(status);
                error.custom_id = Some(id.into());
                error
            }
        }
    }

    /// Creates an error from a catalogue id given by name, as library crates report them.
    ///
    /// An unknown name becomes `core.fatal.unexpected_error`, keeping the message, so a typo in a
    /// library crate shows up as a 500 naming the missing id rather than a panic.
    pub fn from_name(name: &str, message: impl Into<String>) -> Self {
        match ErrorId::from_name(name) {
            Some(id) => Self::new(id, message),
            None => {
                let message = format!("{} (unknown error id `{name}`)", message.into());
                Self::new(ErrorId::CoreFatalUnexpectedError, message)
            }
        }
    }

    /// Adds the values that the message names, in order.
    pub fn with_props<I, S>(mut self, props: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.props = props.into_iter().map(Into::into).collect();
        self
    }

    /// Attaches the per-item errors of a multiple-error or partial-error response.
    pub fn with_errors(mut self, errors: Vec<Value>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// Overrides the catalogue status, as partial errors (206) do.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The catalogue id.
    pub fn id(&self) -> ErrorId {
        self.id
    }

    /// Returns the id sent to clients: the catalogue id's name, or a plugin's own id.
    pub fn id_name(&self) -> &str {
        self.custom_id.as_deref().unwrap_or(self.id.id())
    }

    /// Returns the values that the message names.
    pub fn props(&self) -> &[String] {
        &self.props
    }

    /// The HTTP-like status sent with this error.
    pub fn status(&self) -> u16 {
        self.status.unwrap_or(self.id.status())
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Serializes the error object sent to clients.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("message".into(), json!(self.message));
        object.insert("status".into(), json!(self.status()));
        object.insert("id".into(), json!(self.id_name()));
        let code = if self.custom_id.is_some() {
            0
        } else {
            self.id.code()
        };
        object.insert("code".into(), json!(code));
        object.insert("props".into(), json!(self.props));

        if let Some(errors) = &self.errors {
            object.insert("count".into(), json!(errors.len()));
            object.insert("errors".into(), Value::Array(errors.clone()));
        }
        Value::Object(object)
    }

    /// `api.assert.missing_argument` for a required argument that is absent.
    pub fn missing_argument(name: &str) -> Self {
        Self::new(
            ErrorId::ApiAssertMissingArgument,
            format!("Missing argument \"{name}\": add it to the request."),
        )
        .with_props([name])
    }

    /// `api.assert.invalid_type` for an argument of the wrong JSON type.
    pub fn invalid_type(name: &str, expected: &str) -> Self {
        Self::new(
            ErrorId::ApiAssertInvalidType,
            format!("Wrong type for argument \"{name}\" (expected: {expected})."),
        )
        .with_props([name, expected])
    }

    /// `api.assert.invalid_argument` for an argument whose value is not accepted.
    pub fn invalid_argument(name: &str, expected: &str) -> Self {
        Self::new(
            ErrorId::ApiAssertInvalidArgument,
            format!("Invalid argument \"{name}\". Expected: {expected}."),
        )
        .with_props([name, expected])
    }

    /// `api.assert.body_required` for an action that needs a request body.
    pub fn body_required() -> Self {
        Self::new(
            ErrorId::ApiAssertBodyRequired,
            "The request must specify a body: send a JSON object as \"body\".",
        )
    }

    /// `api.process.controller_not_found`.
    pub fn controller_not_found(controller: &str) -> Self {
        Self::new(
            ErrorId::ApiProcessControllerNotFound,
            format!(
                "API controller \"{controller}\" not found: check the name, or load the plugin \
                 that provides it."
            ),
        )
        .with_props([controller])
    }

    /// `api.process.action_not_found`.
    pub fn action_not_found(controller: &str, action: &str) -> Self {
        Self::new(
            ErrorId::ApiProcessActionNotFound,
            format!(
                "API action \"{controller}\":\"{action}\" not found: see server:publicApi for the \
                 actions of this controller."
            ),
        )
        .with_props([controller, action])
    }

    /// `core.fatal.unexpected_error` for a failure that is the server's fault.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorId::CoreFatalUnexpectedError,
            format!("Internal error: {message}"),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.id_name())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_object_has_kuzzle_fields() {
        let error = ApiError::missing_argument("index");
        let object = error.to_json();
        assert_eq!(object["id"], "api.assert.missing_argument");
        assert_eq!(object["status"], 400);
        assert_eq!(object["code"], 33619971);
        assert_eq!(object["props"], json!(["index"]));
        assert!(object["message"].as_str().unwrap().contains("\"index\""));
        assert!(object.get("errors").is_none());
    }

    #[test]
    fn plugin_errors_keep_their_status_and_id() {
        let known = ApiError::from_plugin(403, "security.rights.forbidden", "not yours");
        assert_eq!(known.to_json()["id"], "security.rights.forbidden");
        assert_eq!(known.status(), 403);

        let custom = ApiError::from_plugin(409, "shop.cart.locked", "cart locked").to_json();
        assert_eq!(custom["id"], "shop.cart.locked");
        assert_eq!(custom["status"], 409);
        assert_eq!(custom["code"], 0);
    }

    #[test]
    fn unknown_name_becomes_internal_error() {
        let error = ApiError::from_name("nope.nope.nope", "boom");
        assert_eq!(error.id(), ErrorId::CoreFatalUnexpectedError);
        assert!(error.message().contains("nope.nope.nope"));
    }

    #[test]
    fn multiple_errors_carry_count() {
        let error = ApiError::new(ErrorId::ApiProcessIncompleteMultipleRequest, "failed")
            .with_errors(vec![json!({"_id": "a"})]);
        let object = error.to_json();
        assert_eq!(object["count"], 1);
        assert_eq!(object["errors"][0]["_id"], "a");
    }
}
