//! Calls to any API action through the host's `api.call`, with the same rights checks as a
//! client's request.
//!
//! ```ignore
//! use palisade_plugin_sdk::api::Api;
//! use palisade_plugin_sdk::json;
//!
//! // As the plugin's own identity, whose rights the operator grants:
//! let created = Api::as_plugin().document().create("audit", "audit", None, json!({"a": 1}))?;
//! // On behalf of the user of the request being handled:
//! let book = Api::as_user(&request).document().get("library", "books", "42")?;
//! ```

mod collection;
mod document;
mod index;
mod realtime;

use serde_json::{Map, Value};

use crate::bindings::palisade::plugin::api;
use crate::{ApiError, Request};

pub use collection::Collections;
pub use document::Documents;
pub use index::Indexes;
pub use realtime::Realtime;

/// Whose rights an API call uses.
#[derive(Debug, Clone, Copy)]
pub enum Identity<'a> {
    /// The plugin's own identity, whose rights the operator grants in its configuration.
    Plugin,
    /// The user of the request being handled.
    CurrentUser(&'a Request<'a>),
}

/// Runs API requests with one [`Identity`].
#[derive(Debug, Clone, Copy)]
pub struct Api<'a> {
    identity: Identity<'a>,
}

impl Api<'static> {
    /// Creates an API client that uses the plugin's own identity.
    pub fn as_plugin() -> Self {
        Self {
            identity: Identity::Plugin,
        }
    }
}

impl<'a> Api<'a> {
    /// Creates an API client that acts on behalf of the user of `request`.
    pub fn as_user(request: &'a Request<'a>) -> Self {
        Self {
            identity: Identity::CurrentUser(request),
        }
    }

    /// Creates an API client with `identity`.
    pub fn new(identity: Identity<'a>) -> Self {
        Self { identity }
    }

    /// Runs `request`, a flat Kuzzle request object (`controller`, `action`, `index`,
    /// `collection`, `_id`, `body` and other arguments), and returns its `result`.
    ///
    /// # Errors
    ///
    /// The API error of the action, such as a 403 for a missing right or a 404 for an unknown
    /// document, and a 500 error when the host returns a result that is not JSON.
    pub fn call(&self, request: Value) -> Result<Value, ApiError> {
        let payload = request.to_string();
        let result = match self.identity {
            Identity::Plugin => api::call(&payload, api::Identity::Plugin, None),
            Identity::CurrentUser(current) => {
                api::call(&payload, api::Identity::CurrentUser, current.host())
            }
        }?;
        parse_result(&result)
    }

    /// Runs `controller`:`action` with `arguments`, a JSON object of the other request fields
    /// (or null for none).
    ///
    /// # Errors
    ///
    /// A 500 error when `arguments` is neither an object nor null, and the errors of
    /// [`Api::call`].
    pub fn action(
        &self,
        controller: &str,
        action: &str,
        arguments: Value,
    ) -> Result<Value, ApiError> {
        let mut request = match arguments {
            Value::Object(arguments) => arguments,
            Value::Null => Map::new(),
            _ => {
                return Err(ApiError::internal(format!(
                    "The arguments of \"{controller}\":\"{action}\" must be a JSON object or null."
                )));
            }
        };
        request.insert("controller".to_owned(), controller.into());
        request.insert("action".to_owned(), action.into());
        self.call(Value::Object(request))
    }

    /// Returns the `document` controller's helpers.
    pub fn document(self) -> Documents<'a> {
        Documents::new(self)
    }

    /// Returns the `index` controller's helpers.
    pub fn index(self) -> Indexes<'a> {
        Indexes::new(self)
    }

    /// Returns the `collection` controller's helpers.
    pub fn collection(self) -> Collections<'a> {
        Collections::new(self)
    }

    /// Returns the `realtime` controller's helpers.
    pub fn realtime(self) -> Realtime<'a> {
        Realtime::new(self)
    }
}

fn parse_result(result: &str) -> Result<Value, ApiError> {
    if result.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(result).map_err(|error| {
        ApiError::internal(format!(
            "The host returned an API result that is not JSON: {error}."
        ))
    })
}
