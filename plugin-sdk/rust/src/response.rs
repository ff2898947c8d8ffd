//! The successful result of a plugin controller action.

use serde_json::Value;

use crate::bindings::palisade::plugin::types;

/// A successful action result: a status, a JSON result and HTTP headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP-like status, 200 unless set otherwise.
    pub status: u16,
    /// The `result` of the API response.
    pub result: Value,
    /// Headers sent over HTTP.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// Creates a 200 response with `result`, such as a string, a number or a `json!` value.
    pub fn ok(result: impl Into<Value>) -> Self {
        Self {
            status: 200,
            result: result.into(),
            headers: Vec::new(),
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Appends an HTTP header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl From<Response> for types::Response {
    fn from(response: Response) -> Self {
        Self {
            status: response.status,
            result: response.result.to_string(),
            headers: response.headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_result_serialized_as_json() {
        let response: types::Response = Response::ok("Hello, Ada").into();

        assert_eq!(response.status, 200);
        assert_eq!(response.result, r#""Hello, Ada""#);
        assert!(response.headers.is_empty());
    }

    #[test]
    fn builder_sets_status_and_headers() {
        let response = Response::ok(serde_json::json!({"created": true}))
            .status(201)
            .header("Location", "/books/42");

        assert_eq!(response.status, 201);
        assert_eq!(
            response.headers,
            [("Location".to_owned(), "/books/42".to_owned())]
        );
    }
}
