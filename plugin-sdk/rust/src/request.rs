//! The API request that a controller action, a pipe or a hook receives.

use std::cell::OnceCell;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::ApiError;
use crate::bindings::palisade::plugin::types;
use crate::payload::parse_host_json;

/// The user a request runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's kuid; `-1` is the anonymous user.
    pub id: String,
    /// The profiles the user has.
    pub profile_ids: Vec<String>,
}

/// An API request. Its JSON parts (`args`, `body`, `volatile`) arrive as text and are parsed on
/// first read, so a pipe or hook that does not read them does not pay for parsing them.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request id, echoed in the response.
    pub request_id: String,
    /// Controller name, such as `greeting`.
    pub controller: String,
    /// Action name, such as `sayHello`.
    pub action: String,
    /// The user the request runs as.
    pub user: User,
    /// `http`, `websocket` or `internal`.
    pub protocol: String,
    /// Id of the client connection.
    pub connection_id: String,
    args: JsonPart,
    body: JsonPart,
    volatile: JsonPart,
}

/// A JSON part of the request: the host's text, if any, and its value once parsed.
#[derive(Debug, Clone)]
struct JsonPart {
    name: &'static str,
    text: Option<String>,
    value: OnceCell<Value>,
}

impl JsonPart {
    fn new(name: &'static str, text: Option<String>) -> Self {
        Self {
            name,
            text,
            value: OnceCell::new(),
        }
    }

    /// Returns the parsed value: `null` for no text or an empty one.
    ///
    /// # Panics
    ///
    /// When the text is not valid JSON. The host always serializes these parts itself, so invalid
    /// text is a host bug: the panic traps the instance and the host reports the failed call.
    fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            let text = self.text.as_deref().unwrap_or_default();
            parse_host_json(text).unwrap_or_else(|error| {
                panic!(
                    "the host sent a request {} that is not valid JSON: {error}",
                    self.name
                )
            })
        })
    }

    /// Returns the value, or `None` when it is `null`.
    fn optional(&self) -> Option<&Value> {
        Some(self.value()).filter(|value| !value.is_null())
    }
}

impl Request {
    /// Wraps a request from the host. Its JSON parts are parsed on first read.
    pub(crate) fn from_host(raw: types::Request) -> Self {
        // The host's strings move into the fields: each copy would cost an allocation in the
        // guest on every call.
        Self {
            request_id: raw.request_id,
            controller: raw.controller,
            action: raw.action,
            user: User {
                id: raw.user.id,
                profile_ids: raw.user.profile_ids,
            },
            protocol: raw.protocol,
            connection_id: raw.connection_id,
            args: JsonPart::new("args", Some(raw.args)),
            body: JsonPart::new("body", raw.body),
            volatile: JsonPart::new("volatile", raw.volatile),
        }
    }

    /// Returns every argument (`index`, `collection`, `_id`, query-string values...) as a JSON
    /// object, empty when the request has none.
    ///
    /// # Panics
    ///
    /// When the host sent arguments that are not a JSON object. The server serializes them from
    /// a JSON object, so this is a host bug.
    pub fn args(&self) -> &Map<String, Value> {
        static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
        match self.args.value() {
            Value::Object(args) => args,
            Value::Null => EMPTY.get_or_init(Map::new),
            _ => panic!("the host sent request args that are not a JSON object"),
        }
    }

    /// Returns the argument `name`, if present.
    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.args().get(name)
    }

    /// Returns the argument `name` if it is a string, `None` if it is absent or of another type.
    pub fn arg_str(&self, name: &str) -> Option<&str> {
        self.arg(name).and_then(Value::as_str)
    }

    /// Returns the string argument `name`.
    ///
    /// # Errors
    ///
    /// A 400 `api.assert.missing_argument` error when the argument is absent, null or empty, and
    /// a 400 `api.assert.invalid_type` error when it is not a string.
    pub fn require_str(&self, name: &str) -> Result<&str, ApiError> {
        match self.arg(name) {
            None | Some(Value::Null) => Err(ApiError::missing_argument(name)),
            Some(Value::String(value)) if value.is_empty() => Err(ApiError::missing_argument(name)),
            Some(Value::String(value)) => Ok(value),
            Some(_) => Err(ApiError::invalid_type(name, "string")),
        }
    }

    /// Returns the request body, if any.
    pub fn body(&self) -> Option<&Value> {
        self.body.optional()
    }

    /// Returns the client's volatile data, if any.
    pub fn volatile(&self) -> Option<&Value> {
        self.volatile.optional()
    }

    /// Returns the kuid of the user the request runs as (`-1` for the anonymous user).
    pub fn user_id(&self) -> &str {
        &self.user.id
    }

    /// Returns the `index` argument, if it is a string.
    pub fn index(&self) -> Option<&str> {
        self.arg_str("index")
    }

    /// Returns the `collection` argument, if it is a string.
    pub fn collection(&self) -> Option<&str> {
        self.arg_str("collection")
    }

    /// Returns the `_id` argument, if it is a string.
    pub fn id(&self) -> Option<&str> {
        self.arg_str("_id")
    }

    /// Returns the request in the host's form, for `api.call` on behalf of its user.
    pub(crate) fn to_host(&self) -> types::Request {
        types::Request {
            request_id: self.request_id.clone(),
            controller: self.controller.clone(),
            action: self.action.clone(),
            args: self.args.text.clone().unwrap_or_default(),
            body: self.body.text.clone(),
            volatile: self.volatile.text.clone(),
            user: types::User {
                id: self.user.id.clone(),
                profile_ids: self.user.profile_ids.clone(),
            },
            protocol: self.protocol.clone(),
            connection_id: self.connection_id.clone(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a request as the host would send it.
    pub(crate) fn host_request(args: &str, body: Option<&str>) -> types::Request {
        types::Request {
            request_id: "request-1".to_owned(),
            controller: "greeting".to_owned(),
            action: "sayHello".to_owned(),
            args: args.to_owned(),
            body: body.map(str::to_owned),
            volatile: None,
            user: types::User {
                id: "kuid-1".to_owned(),
                profile_ids: vec!["default".to_owned()],
            },
            protocol: "http".to_owned(),
            connection_id: "connection-1".to_owned(),
        }
    }

    fn request(args: &str) -> Request {
        Request::from_host(host_request(args, None))
    }

    #[test]
    fn arguments_parsed() {
        let request = request(r#"{"index":"books","collection":"novels","_id":"42","size":3}"#);

        assert_eq!(request.index(), Some("books"));
        assert_eq!(request.collection(), Some("novels"));
        assert_eq!(request.id(), Some("42"));
        assert_eq!(request.arg("size"), Some(&Value::from(3)));
        assert_eq!(request.arg_str("size"), None);
        assert_eq!(request.user_id(), "kuid-1");
        assert_eq!(request.user.profile_ids, ["default"]);
    }

    #[test]
    fn host_form_round_trips() {
        let sent = host_request(r#"{"index":"books","size":3}"#, Some(r#"{"title":"Dune"}"#));

        let returned = Request::from_host(sent.clone()).to_host();

        assert_eq!(returned.request_id, sent.request_id);
        assert_eq!(returned.controller, sent.controller);
        assert_eq!(returned.action, sent.action);
        assert_eq!(returned.args, sent.args);
        assert_eq!(returned.body, sent.body);
        assert_eq!(returned.volatile, sent.volatile);
        assert_eq!(returned.user.id, sent.user.id);
        assert_eq!(returned.user.profile_ids, sent.user.profile_ids);
        assert_eq!(returned.protocol, sent.protocol);
        assert_eq!(returned.connection_id, sent.connection_id);
    }

    #[test]
    fn require_str_checks_argument() {
        let request = request(r#"{"name":"Ada","empty":"","null":null,"number":1}"#);

        assert_eq!(request.require_str("name"), Ok("Ada"));
        assert_eq!(
            request.require_str("absent"),
            Err(ApiError::missing_argument("absent"))
        );
        assert_eq!(
            request.require_str("empty"),
            Err(ApiError::missing_argument("empty"))
        );
        assert_eq!(
            request.require_str("null"),
            Err(ApiError::missing_argument("null"))
        );
        assert_eq!(
            request.require_str("number"),
            Err(ApiError::invalid_type("number", "string"))
        );
    }

    #[test]
    fn body_parsed() {
        let raw = host_request("{}", Some(r#"{"title":"Dune"}"#));
        let request = Request::from_host(raw);

        assert_eq!(request.body(), Some(&serde_json::json!({"title": "Dune"})));
    }

    #[test]
    fn empty_args_become_empty_object() {
        let request = request("");

        assert!(request.args().is_empty());
        assert_eq!(request.body(), None);
    }

    #[test]
    #[should_panic(expected = "not valid JSON")]
    fn invalid_args_panic() {
        Request::from_host(host_request("{not json", None)).arg("a");
    }

    #[test]
    #[should_panic(expected = "not a JSON object")]
    fn array_args_panic() {
        Request::from_host(host_request("[1]", None)).arg("a");
    }

    #[test]
    fn unread_parts_stay_unparsed() {
        let request = Request::from_host(host_request("{not json", Some("{not json")));

        assert_eq!(request.user_id(), "kuid-1");
        assert_eq!(request.to_host().args, "{not json");
    }
}
