//! Decodes one inbound text frame into what the connection must do with it.

use palisade_api::{ApiError, ErrorId, Protocol, Request, RequestContext};
use serde_json::Value;

/// The request an inbound text frame carries.
#[derive(Debug)]
pub enum Frame {
    /// An empty frame, ignored as Kuzzle does.
    Empty,
    /// The browser heartbeat `{"p":1}`, to which the server replies `{"p":2}`.
    Heartbeat,
    /// An API request.
    Request(Box<Request>),
    /// A frame that cannot become a request, with the request id when it could be read.
    Invalid(Option<String>, ApiError),
}

/// Decodes a text frame of at most `max_size` bytes.
pub fn decode(text: &str, max_size: usize, connection_id: &str) -> Frame {
    if text.trim().is_empty() {
        return Frame::Empty;
    }
    let payload: Value = match serde_json::from_str(text) {
        Ok(payload) => payload,
        Err(error) => {
            let error = ApiError::new(
                ErrorId::NetworkWebsocketUnexpectedError,
                format!(
                    "The message is not valid JSON ({error}): send one JSON request per text frame."
                ),
            );
            return Frame::Invalid(None, error);
        }
    };
    let request_id = payload
        .get("requestId")
        .and_then(Value::as_str)
        .map(str::to_owned);

    if text.len() > max_size {
        let error = ApiError::new(
            ErrorId::NetworkHttpRequestTooLarge,
            format!(
                "The message has {} bytes, more than server.maxRequestSize ({max_size} bytes): \
                 send less data per request.",
                text.len()
            ),
        );
        return Frame::Invalid(request_id, error);
    }
    if is_heartbeat(&payload) {
        return Frame::Heartbeat;
    }

    let context = RequestContext::json(Protocol::WebSocket, connection_id);
    match Request::from_payload(payload, context) {
        Ok(request) => Frame::Request(Box::new(request)),
        Err(error) => Frame::Invalid(request_id, error),
    }
}

fn is_heartbeat(payload: &Value) -> bool {
    payload
        .as_object()
        .is_some_and(|object| object.len() == 1 && object.get("p") == Some(&Value::from(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_needs_exactly_one_key() {
        assert!(matches!(decode("{\"p\":1}", 100, "c"), Frame::Heartbeat));
        assert!(matches!(
            decode("{\"p\":1,\"q\":2}", 100, "c"),
            Frame::Invalid(..)
        ));
    }

    #[test]
    fn malformed_json_has_no_request_id() {
        match decode("{not json", 100, "c") {
            Frame::Invalid(None, error) => {
                assert_eq!(error.id(), ErrorId::NetworkWebsocketUnexpectedError)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn oversized_frame_keeps_request_id() {
        let text = format!("{{\"requestId\":\"r1\",\"body\":\"{}\"}}", "x".repeat(200));
        match decode(&text, 100, "c") {
            Frame::Invalid(Some(id), error) => {
                assert_eq!(id, "r1");
                assert_eq!(error.status(), 413);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_action_keeps_request_id() {
        match decode(
            "{\"requestId\":\"r2\",\"controller\":\"server\"}",
            1000,
            "c",
        ) {
            Frame::Invalid(Some(id), error) => {
                assert_eq!(id, "r2");
                assert_eq!(error.id(), ErrorId::ApiAssertMissingArgument);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_frame_ignored() {
        assert!(matches!(decode("  ", 10, "c"), Frame::Empty));
    }
}
