//! The request envelope shared by every protocol, and the coercion rules for its arguments.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::ApiError;

/// The protocol a request arrived on. It changes how arguments are coerced: over HTTP, arguments
/// from the query string are strings, and a boolean flag is true whenever it is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// An HTTP route or `POST /_query`.
    Http,
    /// A WebSocket text frame.
    WebSocket,
    /// A call made by the server itself or by a plugin.
    Internal,
}

impl Protocol {
    /// The name Kuzzle uses in notifications and logs.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::WebSocket => "websocket",
            Protocol::Internal => "internal",
        }
    }
}

/// Where a request comes from.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The protocol that decoded the request.
    pub protocol: Protocol,
    /// An id unique to the client connection (one per HTTP request, one per WebSocket).
    pub connection_id: String,
    /// Whether the arguments came from an HTTP query string or URL, where every value is a string.
    pub string_args: bool,
    /// The kuid of the user the request runs as (`-1` for anonymous), set once by the funnel
    /// after the token is verified. Empty before that.
    pub kuid: OnceLock<String>,
    /// The identity of a request that a plugin runs inside the server. Such a request carries no
    /// token: the funnel checks the rights of this identity instead.
    pub run_as: Option<RunAs>,
}

/// Whose rights a request made by a plugin runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// An existing user, by kuid: the user of the request the plugin is handling.
    User(String),
    /// A plugin's own identity, with the profiles its operator granted it.
    Plugin {
        /// The plugin's name.
        name: String,
        /// The profiles whose rights apply.
        profile_ids: Vec<String>,
    },
}

impl RequestContext {
    /// A context for a request decoded from a JSON payload (WebSocket or `POST /_query`).
    pub fn json(protocol: Protocol, connection_id: impl Into<String>) -> Self {
        Self {
            protocol,
            connection_id: connection_id.into(),
            string_args: false,
            kuid: OnceLock::new(),
            run_as: None,
        }
    }

    /// Returns the kuid of the user the request runs as: `-1` for anonymous, and `None` before
    /// the funnel authenticated the request.
    pub fn kuid(&self) -> Option<&str> {
        self.kuid.get().map(String::as_str)
    }
}

/// One API request: a controller action with its arguments, body and credentials.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request id, echoed in the response; generated when the client sends none.
    pub request_id: String,
    /// The controller name.
    pub controller: String,
    /// The action name.
    pub action: String,
    /// The authentication token, if any.
    pub jwt: Option<String>,
    /// The request body: an object, an array, or `None`.
    pub body: Option<Value>,
    /// Client data echoed in the response and in notifications.
    pub volatile: Option<Map<String, Value>>,
    /// Every other field of the payload, including `index`, `collection` and `_id`.
    pub args: Map<String, Value>,
    /// Milliseconds since the Unix epoch when the request was received.
    pub timestamp: u64,
    /// Where the request comes from.
    pub context: RequestContext,
}

/// Fields of the payload that are not ordinary arguments.
const ENVELOPE_FIELDS: [&str; 8] = [
    "controller",
    "action",
    "requestId",
    "jwt",
    "body",
    "volatile",
    "timestamp",
    "triggerEvents",
];

impl Request {
    /// Builds a request from a payload such as a WebSocket frame or a `POST /_query` body.
    ///
    /// # Errors
    ///
    /// `api.assert.missing_argument` when `controller` or `action` is absent, and
    /// `api.assert.invalid_type` when a field of the envelope has the wrong JSON type.
    pub fn from_payload(payload: Value, context: RequestContext) -> Result<Self, ApiError> {
        let Value::Object(mut fields) = payload else {
            return Err(ApiError::invalid_type("request", "object"));
        };

        let controller = take_name(&mut fields, "controller")?;
        let action = take_name(&mut fields, "action")?;
        let request_id = match fields.remove("requestId") {
            None | Some(Value::Null) => new_request_id(),
            Some(Value::String(id)) => id,
            Some(Value::Number(id)) => id.to_string(),
            Some(_) => return Err(ApiError::invalid_type("requestId", "string")),
        };
        let jwt = match fields.remove("jwt") {
            None | Some(Value::Null) => None,
            Some(Value::String(token)) => Some(token),
            Some(_) => return Err(ApiError::invalid_type("jwt", "string")),
        };
        let body = match fields.remove("body") {
            None | Some(Value::Null) => None,
            Some(body @ (Value::Object(_) | Value::Array(_))) => Some(body),
            Some(_) => return Err(ApiError::invalid_type("body", "object")),
        };
        let volatile = match fields.remove("volatile") {
            None | Some(Value::Null) => None,
            Some(Value::Object(volatile)) => Some(volatile),
            Some(_) => return Err(ApiError::invalid_type("volatile", "object")),
        };
        let timestamp = fields
            .remove("timestamp")
            .and_then(|t| t.as_u64())
            .unwrap_or_else(now_ms);
        fields.remove("triggerEvents");

        Ok(Self {
            request_id,
            controller,
            action,
            jwt,
            body,
            volatile,
            args: fields,
            timestamp,
            context,
        })
    }

    /// Builds a request for a controller action with arguments already split out, as HTTP does.
    pub fn new(controller: &str, action: &str, context: RequestContext) -> Self {
        Self {
            request_id: new_request_id(),
            controller: controller.to_owned(),
            action: action.to_owned(),
            jwt: None,
            body: None,
            volatile: None,
            args: Map::new(),
            timestamp: now_ms(),
            context,
        }
    }

    /// Whether `name` is one of the envelope's own fields rather than an argument.
    pub fn is_envelope_field(name: &str) -> bool {
        ENVELOPE_FIELDS.contains(&name)
    }

    /// The `index` argument, if present and a string.
    pub fn index(&self) -> Option<&str> {
        self.args.get("index").and_then(Value::as_str)
    }

    /// The `collection` argument, if present and a string.
    pub fn collection(&self) -> Option<&str> {
        self.args.get("collection").and_then(Value::as_str)
    }

    /// Returns a required string argument.
    ///
    /// # Errors
    ///
    /// `missing_argument` when absent or null, `invalid_type` when not a string.
    pub fn string(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_string(name)?
            .ok_or_else(|| ApiError::missing_argument(name))
    }

    /// Returns an optional string argument.
    ///
    /// # Errors
    ///
    /// `invalid_type` when present but not a string.
    pub fn optional_string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(ApiError::invalid_type(name, "string")),
        }
    }

    /// Returns a boolean argument, false when absent.
    ///
    /// Over HTTP a query-string flag is true when present, whatever its value (`?refresh` and
    /// `?silent=false` both mean true), which is how Kuzzle reads flags and how the SDK sends them.
    ///
    /// # Errors
    ///
    /// `invalid_type` when a JSON payload carries something other than a boolean or null.
    pub fn boolean(&self, name: &str) -> Result<bool, ApiError> {
        match self.args.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(value)) => Ok(*value),
            Some(Value::String(_)) if self.context.string_args => Ok(true),
            Some(_) => Err(ApiError::invalid_type(name, "boolean")),
        }
    }

    /// Returns an integer argument, or `default` when absent.
    ///
    /// # Errors
    ///
    /// `invalid_type` when the value is neither an integer nor a string holding one.
    pub fn integer(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.args.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(number)) => number
                .as_i64()
                .or_else(|| {
                    number
                        .as_f64()
                        .filter(|f| f.fract() == 0.0)
                        .map(|f| f as i64)
                })
                .ok_or_else(|| ApiError::invalid_type(name, "integer")),
            Some(Value::String(text)) => text
                .trim()
                .parse()
                .map_err(|_| ApiError::invalid_type(name, "integer")),
            Some(_) => Err(ApiError::invalid_type(name, "integer")),
        }
    }

    /// Returns a JSON object argument; over HTTP, a string holding JSON is parsed.
    ///
    /// # Errors
    ///
    /// `invalid_type` when the value is not an object.
    pub fn optional_object(&self, name: &str) -> Result<Option<Map<String, Value>>, ApiError> {
        match self.structured_arg(name, "object")? {
            None => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object)),
            Some(_) => Err(ApiError::invalid_type(name, "object")),
        }
    }

    /// Returns a JSON array argument; over HTTP, a string holding JSON is parsed.
    ///
    /// # Errors
    ///
    /// `invalid_type` when the value is not an array.
    pub fn optional_array(&self, name: &str) -> Result<Option<Vec<Value>>, ApiError> {
        match self.structured_arg(name, "array")? {
            None => Ok(None),
            Some(Value::Array(array)) => Ok(Some(array)),
            Some(_) => Err(ApiError::invalid_type(name, "array")),
        }
    }

    fn structured_arg(&self, name: &str, expected: &str) -> Result<Option<Value>, ApiError> {
        match self.args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if self.context.string_args => serde_json::from_str(text)
                .map(Some)
                .map_err(|_| ApiError::invalid_type(name, expected)),
            Some(value) => Ok(Some(value.clone())),
        }
    }

    /// Returns the body as an object.
    ///
    /// # Errors
    ///
    /// `body_required` when there is no body, `invalid_type` when it is not an object.
    pub fn body_object(&self) -> Result<&Map<String, Value>, ApiError> {
        match &self.body {
            None => Err(ApiError::body_required()),
            Some(Value::Object(body)) => Ok(body),
            Some(_) => Err(ApiError::invalid_type("body", "object")),
        }
    }
}

fn take_name(fields: &mut Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match fields.remove(name) {
        None | Some(Value::Null) => Err(ApiError::missing_argument(name)),
        Some(Value::String(value)) if value.is_empty() => Err(ApiError::missing_argument(name)),
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(ApiError::invalid_type(name, "string")),
    }
}

/// Generates a request id (a UUID v4, as Kuzzle does).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn now_ms() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorId;

    fn ws() -> RequestContext {
        RequestContext::json(Protocol::WebSocket, "c1")
    }

    fn http_query() -> RequestContext {
        RequestContext {
            protocol: Protocol::Http,
            connection_id: "h1".into(),
            string_args: true,
            kuid: OnceLock::new(),
            run_as: None,
        }
    }

    #[test]
    fn payload_splits_envelope_and_args() {
        let payload = json!({
            "controller": "document", "action": "get", "requestId": "r1", "jwt": "kauth-x",
            "index": "i", "collection": "c", "_id": "d", "verb": "GET", "volatile": {"a": 1}
        });
        let request = Request::from_payload(payload, ws()).unwrap();
        assert_eq!(request.controller, "document");
        assert_eq!(request.request_id, "r1");
        assert_eq!(request.jwt.as_deref(), Some("kauth-x"));
        assert_eq!(request.index(), Some("i"));
        assert_eq!(request.args["verb"], "GET");
        assert!(!request.args.contains_key("controller"));
        assert_eq!(request.volatile.unwrap()["a"], 1);
    }

    #[test]
    fn missing_controller_names_it() {
        let error = Request::from_payload(json!({"action": "now"}), ws()).unwrap_err();
        assert_eq!(error.id(), ErrorId::ApiAssertMissingArgument);
        assert!(error.message().contains("controller"));
    }

    #[test]
    fn request_id_generated_when_absent() {
        let request =
            Request::from_payload(json!({"controller": "server", "action": "now"}), ws()).unwrap();
        assert_eq!(request.request_id.len(), 36);
    }

    #[test]
    fn mistyped_envelope_fields_rejected() {
        for (field, value) in [
            ("body", json!(3)),
            ("jwt", json!(1)),
            ("volatile", json!("x")),
        ] {
            let mut payload = json!({"controller": "server", "action": "now"});
            payload[field] = value;
            let error = Request::from_payload(payload, ws()).unwrap_err();
            assert_eq!(error.id(), ErrorId::ApiAssertInvalidType, "field {field}");
        }
    }

    #[test]
    fn query_string_flag_true_whatever_value() {
        let mut request = Request::new("document", "create", http_query());
        request.args.insert("silent".into(), json!("false"));
        assert!(request.boolean("silent").unwrap());
        assert!(!request.boolean("refresh").unwrap());
    }

    #[test]
    fn json_boolean_must_be_boolean() {
        let mut request = Request::new("document", "create", ws());
        request.args.insert("silent".into(), json!("yes"));
        assert_eq!(
            request.boolean("silent").unwrap_err().id(),
            ErrorId::ApiAssertInvalidType
        );
        request.args.insert("silent".into(), json!(false));
        assert!(!request.boolean("silent").unwrap());
    }

    #[test]
    fn integers_parse_from_strings() {
        let mut request = Request::new("document", "search", http_query());
        request.args.insert("from".into(), json!("20"));
        request.args.insert("size".into(), json!(5.0));
        request.args.insert("bad".into(), json!("x"));
        assert_eq!(request.integer("from", 0).unwrap(), 20);
        assert_eq!(request.integer("size", 10).unwrap(), 5);
        assert_eq!(request.integer("absent", 10).unwrap(), 10);
        assert_eq!(
            request.integer("bad", 0).unwrap_err().id(),
            ErrorId::ApiAssertInvalidType
        );
    }

    #[test]
    fn objects_parse_from_query_strings() {
        let mut request = Request::new("document", "search", http_query());
        request
            .args
            .insert("searchBody".into(), json!("{\"query\":{}}"));
        request.args.insert("broken".into(), json!("{"));
        assert!(
            request
                .optional_object("searchBody")
                .unwrap()
                .unwrap()
                .contains_key("query")
        );
        assert!(request.optional_object("broken").is_err());
    }

    #[test]
    fn body_required_when_absent() {
        let request = Request::new("document", "create", ws());
        assert_eq!(
            request.body_object().unwrap_err().id(),
            ErrorId::ApiAssertBodyRequired
        );
    }
}
