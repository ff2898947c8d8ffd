//! Conversions between the API's requests, responses and errors and the plugin contract's.

use std::sync::Arc;

use palisade_api::{ApiError, ErrorId, Request, Response, RunAs};
use palisade_plugins::{PluginError, PluginFailure};
use palisade_security::User;
use serde_json::{Map, Value};

/// Builds the parts of the request a plugin receives, with the user it runs as.
pub fn plugin_request(
    request: &Request,
    user: palisade_plugins::User,
) -> palisade_plugins::RequestParts {
    palisade_plugins::RequestParts {
        request_id: request.request_id.clone(),
        controller: request.controller.clone(),
        action: request.action.clone(),
        args: object_text(&request.args),
        body: request.body.as_ref().map(palisade_api::json_text),
        volatile: request.volatile.as_ref().map(object_text),
        user,
        protocol: request.context.protocol.name().to_owned(),
        connection_id: request.context.connection_id.clone(),
    }
}

/// Returns the request to lend plugin calls, whose parts are built from `request` and its `user`
/// when a guest first reads one.
pub fn lent_request(request: &Arc<Request>, user: &Arc<User>) -> Arc<palisade_plugins::Request> {
    let source = LentSource {
        request: Arc::clone(request),
        user: Arc::clone(user),
    };
    Arc::new(palisade_plugins::Request::lazy(source))
}

/// An API request and the user it runs as, from which a lent request builds its parts.
#[derive(Debug)]
pub struct LentSource {
    request: Arc<Request>,
    user: Arc<User>,
}

impl LentSource {
    /// Returns the identity a plugin's `api.call` as the current user runs with: the request's
    /// own, which for a request a plugin made as itself is that plugin's identity.
    pub fn run_as(&self) -> RunAs {
        match &self.request.context.run_as {
            Some(run_as) => run_as.clone(),
            None => RunAs::User(self.user.id.clone()),
        }
    }
}

impl palisade_plugins::RequestSource for LentSource {
    fn parts(&self) -> palisade_plugins::RequestParts {
        let user = palisade_plugins::User {
            id: self.user.id.clone(),
            profile_ids: self.user.profile_ids.clone(),
        };
        plugin_request(&self.request, user)
    }
}

/// Serializes a JSON object without copying it into a [`Value`] first.
fn object_text(object: &Map<String, Value>) -> String {
    // serde_json fails only on maps with non-string keys, which a JSON object cannot have.
    serde_json::to_string(object).unwrap_or_else(|_| "{}".to_owned())
}

/// Returns the request as the flat JSON object that `before` pipes receive and return:
/// `controller`, `action`, `body`, `volatile` and every argument.
pub fn request_payload(request: &Request) -> Value {
    let mut payload = request.args.clone();
    payload.insert(
        "controller".into(),
        Value::from(request.controller.as_str()),
    );
    payload.insert("action".into(), Value::from(request.action.as_str()));
    if let Some(body) = &request.body {
        payload.insert("body".into(), body.clone());
    }
    if let Some(volatile) = &request.volatile {
        payload.insert("volatile".into(), Value::Object(volatile.clone()));
    }
    Value::Object(payload)
}

/// Applies a payload returned by a `before` pipe to the request: its arguments, body and
/// volatile data. The controller and action stay those the rights were checked for.
///
/// # Errors
///
/// `plugin.runtime.unexpected_error` when the payload is not a JSON object.
pub fn apply_request_payload(
    plugin: &str,
    event: &str,
    request: &mut Request,
    payload: Value,
) -> Result<(), ApiError> {
    let Value::Object(mut payload) = payload else {
        return Err(invalid_payload(
            plugin,
            event,
            "a JSON object (the request)",
        ));
    };
    payload.remove("controller");
    payload.remove("action");
    request.body = payload.remove("body").filter(|body| !body.is_null());
    request.volatile = match payload.remove("volatile") {
        Some(Value::Object(volatile)) => Some(volatile),
        _ => None,
    };
    request.args = payload;
    Ok(())
}

/// Builds the response of a plugin action from the plugin's response record.
///
/// # Errors
///
/// `plugin.controller.unserializable_response` when `result` is not JSON.
pub fn response(plugin: &str, returned: palisade_plugins::Response) -> Result<Response, ApiError> {
    let result: Value = serde_json::from_str(&returned.result).map_err(|error| {
        ApiError::new(
            ErrorId::PluginControllerUnserializableResponse,
            format!(
                "Plugin \"{plugin}\" returned a result that is not JSON ({error}): fix the plugin."
            ),
        )
        .with_props([plugin])
    })?;
    let raw = raw_body(&returned.headers, &result);
    let headers: Map<String, Value> = returned
        .headers
        .into_iter()
        .map(|(name, value)| (name, Value::from(value)))
        .collect();
    let mut response = Response::ok(result);
    response.status = returned.status;
    response.headers = headers;
    response.raw = raw;
    Ok(response)
}

/// Returns the body to send as it is over HTTP: a string result with a `Content-Type` header
/// other than JSON, such as XML metadata or an HTML page.
fn raw_body(headers: &[(String, String)], result: &Value) -> Option<palisade_api::RawBody> {
    let (_, content_type) = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))?;
    let Value::String(text) = result else {
        return None;
    };
    if content_type.to_ascii_lowercase().contains("json") {
        return None;
    }
    Some(palisade_api::RawBody {
        content_type: content_type.clone(),
        content: text.clone().into_bytes(),
        stream: None,
    })
}

/// Turns an error a plugin returned into the client's error, status and id unchanged.
pub fn guest_error(error: palisade_plugins::ApiError) -> ApiError {
    ApiError::from_plugin(error.status, &error.id, error.message).with_props(error.props)
}

/// Converts an error object from JSON (`{status, id, message, props}`), as error pipes return it.
pub fn error_from_json(value: &Value) -> Option<ApiError> {
    let id = value.get("id")?.as_str()?;
    let status = u16::try_from(value.get("status")?.as_u64()?).ok()?;
    let message = value
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let props: Vec<String> = value
        .get("props")
        .and_then(Value::as_array)
        .map(|props| {
            props
                .iter()
                .map(|prop| prop.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    Some(ApiError::from_plugin(status, id, message).with_props(props))
}

/// Turns a failed plugin call (trap, timeout, out of memory) into the client's error.
pub fn host_error(error: &PluginError) -> ApiError {
    let plugin = match error {
        PluginError::Compile { plugin, .. }
        | PluginError::Link { plugin, .. }
        | PluginError::Call { plugin, .. } => plugin.as_str(),
        PluginError::Engine { .. } => "",
    };
    let id = match error.failure() {
        Some(PluginFailure::Timeout(_)) => ErrorId::PluginRuntimePipeTimeout,
        _ => ErrorId::PluginRuntimeUnexpectedError,
    };
    ApiError::new(
        id,
        format!("{error}: the plugin's author must fix it, or its operator raise its limits."),
    )
    .with_props([plugin])
}

/// Builds the error for a payload of the wrong shape returned by a pipe.
pub fn invalid_payload(plugin: &str, event: &str, expected: &str) -> ApiError {
    ApiError::new(
        ErrorId::PluginRuntimeUnexpectedError,
        format!("Plugin \"{plugin}\" returned an invalid payload for event \"{event}\": expected {expected}."),
    )
    .with_props([plugin, event])
}

#[cfg(test)]
mod tests {
    use palisade_api::{Protocol, RequestContext};
    use serde_json::json;

    use super::*;

    fn user(id: &str, profile_ids: &[&str]) -> Arc<User> {
        Arc::new(User {
            id: id.to_owned(),
            profile_ids: profile_ids.iter().map(|id| (*id).to_owned()).collect(),
            content: Map::new(),
        })
    }

    #[test]
    fn lent_request_parts_name_the_user() {
        let context = RequestContext::json(Protocol::WebSocket, "connection-1");
        let mut request = Request::new("document", "get", context);
        request.args.insert("_id".to_owned(), json!("a"));
        let request = Arc::new(request);
        let alice = user("alice", &["default", "editor"]);

        let lent = lent_request(&request, &alice);
        let parts = lent.parts();

        assert_eq!(parts.user.id, "alice");
        assert_eq!(parts.user.profile_ids, ["default", "editor"]);
        assert_eq!(parts.args, r#"{"_id":"a"}"#);
        assert_eq!(parts.protocol, "websocket");
    }

    #[test]
    fn current_user_of_plugin_request_is_plugin() {
        let plugin = RunAs::Plugin {
            name: "audit".to_owned(),
            profile_ids: vec!["auditor".to_owned()],
        };
        let mut context = RequestContext::json(Protocol::Internal, "plugin-audit");
        context.run_as = Some(plugin.clone());
        let made_by_plugin = Arc::new(Request::new("document", "create", context));
        let context = RequestContext::json(Protocol::Http, "connection-2");
        let made_by_client = Arc::new(Request::new("document", "create", context));
        let alice = user("alice", &["default"]);

        let lent_by_plugin = lent_request(&made_by_plugin, &user("plugin:audit", &["auditor"]));
        let lent_by_client = lent_request(&made_by_client, &alice);
        let by_plugin = lent_by_plugin
            .source::<LentSource>()
            .expect("the server's source");
        let by_client = lent_by_client
            .source::<LentSource>()
            .expect("the server's source");

        assert_eq!(by_plugin.run_as(), plugin);
        assert_eq!(by_client.run_as(), RunAs::User("alice".to_owned()));
    }
}
