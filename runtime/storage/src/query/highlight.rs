//! `highlight`: which `text` fields get fragments with the matched terms marked.

use serde_json::Value;

use crate::error::{Result, StorageError};

/// A parsed `highlight` request.
#[derive(Debug, Clone, PartialEq)]
pub struct Highlight {
    pub fields: Vec<String>,
    pub pre_tag: String,
    pub post_tag: String,
    /// Maximum fragment length, in characters.
    pub fragment_size: usize,
}

impl Highlight {
    /// Parses `{fields: {name: {}} | [..], pre_tags, post_tags, fragment_size}`.
    ///
    /// # Errors
    ///
    /// [`StorageError::InvalidSearchQuery`] for a malformed request.
    pub fn parse(value: &Value) -> Result<Self> {
        let fields = match value.get("fields") {
            Some(Value::Object(map)) => map.keys().cloned().collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|map| map.keys().cloned())
                .collect(),
            _ => return Err(StorageError::query("`highlight` requires `fields`")),
        };
        let tag = |key: &str, default: &str| {
            value
                .get(key)
                .and_then(Value::as_array)
                .and_then(|tags| tags.first())
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_owned()
        };
        let fragment_size = value
            .get("fragment_size")
            .and_then(Value::as_u64)
            .unwrap_or(100);
        Ok(Self {
            fields,
            pre_tag: tag("pre_tags", "<em>"),
            post_tag: tag("post_tags", "</em>"),
            fragment_size: fragment_size as usize,
        })
    }
}
