//! The API request that a controller action, a pipe, a hook or a strategy receives.

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

/// An API request. The host lends it for one call and the SDK reads each part from the host on
/// first use, so a pipe or hook that does not look at the request pays for none of it. The JSON
/// parts (`args`, `body`, `volatile`) are parsed on first read too.
#[derive(Debug)]
pub struct Request<'a> {
    /// The host's request, or `None` for one built with [`Request::from_parts`].
    host: Option<&'a types::Request>,
    request_id: OnceCell<String>,
    controller: OnceCell<String>,
    action: OnceCell<String>,
    user: OnceCell<User>,
    protocol: OnceCell<String>,
    connection_id: OnceCell<String>,
    args: JsonPart,
    body: JsonPart,
    volatile: JsonPart,
}

/// Every part of a request, to build one with [`Request::from_parts`], such as in a plugin's unit
/// tests.
#[derive(Debug, Clone, Default)]
pub struct RequestParts {
    /// The request id.
    pub request_id: String,
    /// Controller name.
    pub controller: String,
    /// Action name.
    pub action: String,
    /// The arguments as a JSON object's text; empty for none.
    pub args: String,
    /// The body as JSON, if any.
    pub body: Option<String>,
    /// The volatile data as a JSON object's text, if any.
    pub volatile: Option<String>,
    /// The user the request runs as.
    pub user: User,
    /// `http`, `websocket` or `internal`.
    pub protocol: String,
    /// Id of the client connection.
    pub connection_id: String,
}

impl Default for User {
    /// Returns the anonymous user, without profiles.
    fn default() -> Self {
        Self {
            id: "-1".to_owned(),
            profile_ids: Vec::new(),
        }
    }
}

/// A JSON part of the request: the host's text, if any, and its value once parsed.
#[derive(Debug)]
struct JsonPart {
    name: &'static str,
    text: OnceCell<Option<String>>,
    value: OnceCell<Value>,
}

impl JsonPart {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            text: OnceCell::new(),
            value: OnceCell::new(),
        }
    }

    fn with_text(name: &'static str, text: Option<String>) -> Self {
        let part = Self::new(name);
        let _ = part.text.set(text);
        part
    }

    /// Returns the text, reading it with `read` the first time.
    fn text(&self, read: impl FnOnce() -> Option<String>) -> Option<&str> {
        self.text.get_or_init(read).as_deref()
    }

    /// Returns the parsed value: `null` for no text or an empty one.
    ///
    /// # Panics
    ///
    /// When the text is not valid JSON. The host always serializes these parts itself, so invalid
    /// text is a host bug: the panic traps the instance and the host reports the failed call.
    fn value(&self, read: impl FnOnce() -> Option<String>) -> &Value {
        self.value.get_or_init(|| {
            let text = self.text(read).unwrap_or_default();
            parse_host_json(text).unwrap_or_else(|error| {
                panic!(
                    "the host sent a request {} that is not valid JSON: {error}",
                    self.name
                )
            })
        })
    }
}

impl<'a> Request<'a> {
    /// Wraps the request the host lent to the current call. Nothing is read from the host yet.
    pub(crate) fn from_host(host: &'a types::Request) -> Self {
        Self {
            host: Some(host),
            request_id: OnceCell::new(),
            controller: OnceCell::new(),
            action: OnceCell::new(),
            user: OnceCell::new(),
            protocol: OnceCell::new(),
            connection_id: OnceCell::new(),
            args: JsonPart::new("args"),
            body: JsonPart::new("body"),
            volatile: JsonPart::new("volatile"),
        }
    }

    /// Returns the request the host lent, for `api.call` on behalf of its user. A request built
    /// with [`Request::from_parts`] has none.
    pub(crate) fn host(&self) -> Option<&'a types::Request> {
        self.host
    }

    /// Returns the host's request. Only a request built with [`Request::from_parts`] has none,
    /// and every part of such a request is set when it is built, so this is never reached for it.
    fn lent(&self) -> &'a types::Request {
        self.host
            .expect("a request built from parts has every part set")
    }

    /// Returns the request id, echoed in the response.
    pub fn request_id(&self) -> &str {
        self.request_id.get_or_init(|| self.lent().request_id())
    }

    /// Returns the controller name, such as `greeting`.
    pub fn controller(&self) -> &str {
        self.controller.get_or_init(|| self.lent().controller())
    }

    /// Returns the action name, such as `sayHello`.
    pub fn action(&self) -> &str {
        self.action.get_or_init(|| self.lent().action())
    }

    /// Returns the user the request runs as.
    pub fn user(&self) -> &User {
        self.user.get_or_init(|| {
            let user = self.lent().user();
            User {
                id: user.id,
                profile_ids: user.profile_ids,
            }
        })
    }

    /// Returns the kuid of the user the request runs as (`-1` for the anonymous user).
    pub fn user_id(&self) -> &str {
        &self.user().id
    }

    /// Returns `http`, `websocket` or `internal`.
    pub fn protocol(&self) -> &str {
        self.protocol.get_or_init(|| self.lent().protocol())
    }

    /// Returns the id of the client connection.
    pub fn connection_id(&self) -> &str {
        self.connection_id
            .get_or_init(|| self.lent().connection_id())
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
        match self.args.value(|| Some(self.lent().args())) {
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
        let body = self.body.value(|| self.lent().body());
        Some(body).filter(|body| !body.is_null())
    }

    /// Returns the client's volatile data, if any.
    pub fn volatile(&self) -> Option<&Value> {
        let volatile = self.volatile.value(|| self.lent().volatile());
        Some(volatile).filter(|volatile| !volatile.is_null())
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
}

impl Request<'static> {
    /// Builds a request from its parts, without a host: for a plugin's unit tests, which run
    /// outside the server. An `api.call` on behalf of its user fails with a 400 error.
    pub fn from_parts(parts: RequestParts) -> Self {
        Self {
            host: None,
            request_id: OnceCell::from(parts.request_id),
            controller: OnceCell::from(parts.controller),
            action: OnceCell::from(parts.action),
            user: OnceCell::from(parts.user),
            protocol: OnceCell::from(parts.protocol),
            connection_id: OnceCell::from(parts.connection_id),
            args: JsonPart::with_text("args", Some(parts.args)),
            body: JsonPart::with_text("body", parts.body),
            volatile: JsonPart::with_text("volatile", parts.volatile),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a request as the host would lend it.
    pub(crate) fn request_with(args: &str, body: Option<&str>) -> Request<'static> {
        Request::from_parts(RequestParts {
            request_id: "request-1".to_owned(),
            controller: "greeting".to_owned(),
            action: "sayHello".to_owned(),
            args: args.to_owned(),
            body: body.map(str::to_owned),
            volatile: None,
            user: User {
                id: "kuid-1".to_owned(),
                profile_ids: vec!["default".to_owned()],
            },
            protocol: "http".to_owned(),
            connection_id: "connection-1".to_owned(),
        })
    }

    fn request(args: &str) -> Request<'static> {
        request_with(args, None)
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
        assert_eq!(request.user().profile_ids, ["default"]);
    }

    #[test]
    fn parts_read_back() {
        let request = request_with("{}", None);

        assert_eq!(request.request_id(), "request-1");
        assert_eq!(request.controller(), "greeting");
        assert_eq!(request.action(), "sayHello");
        assert_eq!(request.protocol(), "http");
        assert_eq!(request.connection_id(), "connection-1");
        assert_eq!(request.volatile(), None);
        assert!(request.host().is_none());
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
        let request = request_with("{}", Some(r#"{"title":"Dune"}"#));

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
        request_with("{not json", None).arg("a");
    }

    #[test]
    #[should_panic(expected = "not a JSON object")]
    fn array_args_panic() {
        request_with("[1]", None).arg("a");
    }

    #[test]
    fn unread_parts_stay_unparsed() {
        let request = request_with("{not json", Some("{not json"));

        assert_eq!(request.user_id(), "kuid-1");
        assert_eq!(request.controller(), "greeting");
    }
}
