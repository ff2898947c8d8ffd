//! The response an action returns, and the envelope every protocol sends.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::{ApiError, Request};

/// Chunks of a body produced while it is sent.
pub type ChunkStream = Pin<Box<dyn futures_core::Stream<Item = Vec<u8>> + Send>>;

/// A body sent chunk by chunk over HTTP, such as a `document:export` file, so that it is never
/// held in memory whole. Clones share the stream, and only the first [`StreamedBody::take`]
/// gets it.
#[derive(Clone)]
pub struct StreamedBody(Arc<Mutex<Option<ChunkStream>>>);

impl StreamedBody {
    /// Wraps a stream of chunks.
    pub fn new(stream: ChunkStream) -> Self {
        Self(Arc::new(Mutex::new(Some(stream))))
    }

    /// Takes the stream out, leaving `None` to every clone.
    pub fn take(&self) -> Option<ChunkStream> {
        self.0.lock().ok()?.take()
    }
}

impl std::fmt::Debug for StreamedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamedBody")
    }
}

impl PartialEq for StreamedBody {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A body sent as is over HTTP instead of the JSON envelope, such as an OpenAPI document or
/// Prometheus metrics. Over WebSocket the content is sent as the envelope's `result` string.
#[derive(Debug, Clone, PartialEq)]
pub struct RawBody {
    /// The HTTP `Content-Type` of the body.
    pub content_type: String,
    /// The body itself, or its first bytes when `stream` is set.
    pub content: Vec<u8>,
    /// The rest of the body, sent after `content` over HTTP. WebSocket responses carry only
    /// `content`, so actions that stream are HTTP-only.
    pub stream: Option<StreamedBody>,
}

/// The successful outcome of an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The HTTP-like status, 200 unless the action sets another.
    pub status: u16,
    /// The action's result; `None` omits the `result` key, as Kuzzle does for `index:create`.
    pub result: Option<Value>,
    /// Headers the action sets explicitly (sent as HTTP headers and in the envelope).
    pub headers: Map<String, Value>,
    /// A raw body that replaces the envelope over HTTP.
    pub raw: Option<RawBody>,
}

impl Response {
    /// A 200 response with a result.
    pub fn ok(result: Value) -> Self {
        Self {
            status: 200,
            result: Some(result),
            headers: Map::new(),
            raw: None,
        }
    }

    /// A 200 response without a `result` key.
    pub fn empty() -> Self {
        Self {
            status: 200,
            result: None,
            headers: Map::new(),
            raw: None,
        }
    }

    /// A 200 response whose HTTP body is `content` as is, and whose WebSocket `result` is the
    /// content as a string.
    pub fn raw(content_type: &str, content: Vec<u8>) -> Self {
        let text = String::from_utf8_lossy(&content).into_owned();
        Self::raw_with_result(content_type, content, Value::String(text))
    }

    /// A 200 response whose HTTP body is `result` serialized as is, without the envelope.
    pub fn raw_json(result: Value) -> Self {
        let content = serde_json::to_vec(&result).unwrap_or_default();
        Self::raw_with_result("application/json", content, result)
    }

    fn raw_with_result(content_type: &str, content: Vec<u8>, result: Value) -> Self {
        Self {
            status: 200,
            result: Some(result),
            headers: Map::new(),
            raw: Some(RawBody {
                content_type: content_type.to_owned(),
                content,
                stream: None,
            }),
        }
    }

    /// Creates a 200 response whose HTTP body is `head` followed by every chunk of `stream`, sent
    /// as they are produced. Over WebSocket the `result` is `head` as a string.
    pub fn streamed(content_type: &str, head: Vec<u8>, stream: ChunkStream) -> Self {
        let mut response = Self::raw(content_type, head);
        if let Some(raw) = &mut response.raw {
            raw.stream = Some(StreamedBody::new(stream));
        }
        response
    }
}

impl From<Value> for Response {
    fn from(result: Value) -> Self {
        Response::ok(result)
    }
}

/// Builds the response envelope of §1.2 of Kuzzle's protocol for a request's outcome.
///
/// `room` is set on WebSocket only: the SDK matches responses to requests by `room`, which
/// equals the request id.
pub fn envelope(
    request: &Request,
    outcome: Result<Response, ApiError>,
    node: &str,
    with_room: bool,
) -> Value {
    let mut object = Map::new();
    object.insert("requestId".into(), json!(request.request_id));

    // The result moves into the envelope without a copy, because a write of many documents
    // returns all of them.
    let mut headers = Map::new();
    match outcome {
        Ok(response) => {
            object.insert("status".into(), json!(response.status));
            object.insert("error".into(), Value::Null);
            if let Some(result) = response.result {
                object.insert("result".into(), result);
            }
            headers = response.headers;
        }
        Err(error) => {
            object.insert("status".into(), json!(error.status()));
            object.insert("error".into(), error.to_json());
            object.insert("result".into(), Value::Null);
        }
    }

    object.insert("controller".into(), json!(request.controller));
    object.insert("action".into(), json!(request.action));
    for name in ["index", "collection"] {
        if let Some(value) = request.args.get(name) {
            object.insert(name.into(), value.clone());
        }
    }
    let volatile = request.volatile.clone().map_or(Value::Null, Value::Object);
    object.insert("volatile".into(), volatile);
    object.insert("node".into(), json!(node));
    // Like Kuzzle, the envelope never repeats a cookie: it is only sent as an HTTP header.
    headers.retain(|name, _| !name.eq_ignore_ascii_case("set-cookie"));
    object.insert("headers".into(), Value::Object(headers));

    if with_room {
        object.insert("room".into(), json!(request.request_id));
    }
    Value::Object(object)
}

/// Builds the envelope of an error raised before a [`Request`] could be built, such as a
/// WebSocket frame that is not valid JSON. `room` is set when the payload's request id is known.
pub fn error_envelope(request_id: Option<&str>, error: &ApiError, node: &str) -> Value {
    let mut object = Map::new();
    object.insert(
        "requestId".into(),
        request_id.map_or(Value::Null, |id| json!(id)),
    );
    object.insert("status".into(), json!(error.status()));
    object.insert("error".into(), error.to_json());
    object.insert("result".into(), Value::Null);
    object.insert("node".into(), json!(node));
    if let Some(id) = request_id {
        object.insert("room".into(), json!(id));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Protocol, RequestContext};

    fn request() -> Request {
        let payload = json!({
            "controller": "index", "action": "create", "index": "i", "requestId": "r",
            "volatile": {"sdkInstanceId": "s"}
        });
        Request::from_payload(payload, RequestContext::json(Protocol::WebSocket, "c")).unwrap()
    }

    #[test]
    fn success_envelope_omits_missing_result() {
        let value = envelope(&request(), Ok(Response::empty()), "knode-1", true);
        assert_eq!(value["status"], 200);
        assert_eq!(value["error"], Value::Null);
        assert!(value.get("result").is_none());
        assert_eq!(value["index"], "i");
        assert!(value.get("collection").is_none());
        assert_eq!(value["room"], "r");
        assert_eq!(value["volatile"]["sdkInstanceId"], "s");
    }

    #[test]
    fn error_envelope_carries_error_object() {
        let error = ApiError::controller_not_found("nope");
        let value = envelope(&request(), Err(error), "knode-1", false);
        assert_eq!(value["status"], 404);
        assert_eq!(value["error"]["id"], "api.process.controller_not_found");
        assert!(value.get("room").is_none());
    }
}
