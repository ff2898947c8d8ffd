//! The payload a pipe receives and returns: JSON text from the host, parsed on first read.

use std::cell::OnceCell;

use serde_json::Value;

use crate::ApiError;

/// The JSON payload of an event, such as the document of `document:afterGet`.
///
/// The host's text is parsed on the first call to [`Payload::value`], [`Payload::value_mut`] or
/// [`Payload::into_value`]. A pipe that returns its payload without changing it hands the host's
/// text back as it came, so a pipe that only looks at the request, or reads the payload without
/// changing it, pays for no serialization.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The event, named in the error of a payload that does not parse.
    event: String,
    /// The host's text, until the payload is changed or replaced.
    text: Option<String>,
    value: OnceCell<Value>,
}

impl Payload {
    /// Wraps the host's text of `event`'s payload.
    pub(crate) fn from_host(event: &str, text: String) -> Self {
        Self {
            event: event.to_owned(),
            text: Some(text),
            value: OnceCell::new(),
        }
    }

    /// Returns the payload, parsing it on the first call. An empty text is `null`.
    ///
    /// # Errors
    ///
    /// A 500 error when the host's text is not valid JSON.
    pub fn value(&self) -> Result<&Value, ApiError> {
        if let Some(value) = self.value.get() {
            return Ok(value);
        }
        let parsed = parse(&self.event, self.text.as_deref().unwrap_or_default())?;
        Ok(self.value.get_or_init(|| parsed))
    }

    /// Returns the payload for changing it. The pipe then returns the changed value.
    ///
    /// # Errors
    ///
    /// A 500 error when the host's text is not valid JSON.
    pub fn value_mut(&mut self) -> Result<&mut Value, ApiError> {
        self.value()?;
        self.text = None;
        Ok(self
            .value
            .get_mut()
            .expect("the payload was parsed by the line above"))
    }

    /// Returns the payload as a value, parsing it if no call did yet.
    ///
    /// # Errors
    ///
    /// A 500 error when the host's text is not valid JSON.
    pub fn into_value(self) -> Result<Value, ApiError> {
        self.value()?;
        Ok(self
            .value
            .into_inner()
            .expect("the payload was parsed by the line above"))
    }

    /// Returns the JSON text for the host: the host's own text when the payload is unchanged.
    pub(crate) fn into_text(self) -> String {
        match (self.text, self.value.into_inner()) {
            (Some(text), _) => text,
            (None, Some(value)) => value.to_string(),
            (None, None) => Value::Null.to_string(),
        }
    }
}

/// A pipe that builds a new payload returns it with `value.into()`.
impl From<Value> for Payload {
    fn from(value: Value) -> Self {
        Self {
            event: String::new(),
            text: None,
            value: OnceCell::from(value),
        }
    }
}

/// Parses a payload text from the host, where an empty text is `null`.
pub(crate) fn parse(event: &str, text: &str) -> Result<Value, ApiError> {
    parse_host_json(text).map_err(|error| {
        ApiError::internal(format!(
            "The payload of \"{event}\" is not valid JSON: {error}."
        ))
        .prop(event)
    })
}

/// Parses JSON text from the host, where an empty text is `null`.
pub(crate) fn parse_host_json(text: &str) -> serde_json::Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unread_payload_returns_host_text() {
        let text = r#"{"a": 1,  "b": [true]}"#;
        let payload = Payload::from_host("document:afterGet", text.to_owned());

        assert_eq!(payload.into_text(), text);
    }

    #[test]
    fn read_payload_returns_host_text() {
        let text = r#"{"a": 1,  "b": [true]}"#;
        let payload = Payload::from_host("document:afterGet", text.to_owned());

        assert_eq!(payload.value().unwrap()["a"], 1);
        assert_eq!(payload.into_text(), text);
    }

    #[test]
    fn changed_payload_is_serialized() {
        let mut payload = Payload::from_host("document:afterGet", r#"{"a": 1}"#.to_owned());

        payload.value_mut().unwrap()["a"] = json!(2);

        assert_eq!(payload.into_text(), r#"{"a":2}"#);
    }

    #[test]
    fn replaced_payload_is_serialized() {
        let payload = Payload::from(json!({"b": 3}));

        assert_eq!(payload.into_text(), r#"{"b":3}"#);
    }

    #[test]
    fn empty_text_is_null() {
        let payload = Payload::from_host("core:kuzzleStart", String::new());

        assert_eq!(payload.into_value().unwrap(), Value::Null);
    }

    #[test]
    fn invalid_text_names_event() {
        let payload = Payload::from_host("document:afterGet", "{".to_owned());

        let error = payload.value().unwrap_err();

        assert_eq!(error.status, 500);
        assert!(
            error.message.contains("document:afterGet"),
            "{}",
            error.message
        );
    }
}
