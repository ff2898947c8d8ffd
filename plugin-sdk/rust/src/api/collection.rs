//! Helpers for the `collection` controller.

use serde_json::{Value, json};

use super::Api;
use crate::ApiError;

/// The `collection` controller's actions.
#[derive(Debug, Clone, Copy)]
pub struct Collections<'a> {
    api: Api<'a>,
}

impl<'a> Collections<'a> {
    pub(super) fn new(api: Api<'a>) -> Self {
        Self { api }
    }

    /// Returns whether `collection` exists in `index`.
    pub fn exists(&self, index: &str, collection: &str) -> Result<bool, ApiError> {
        let result = self.api.call(request("exists", index, collection))?;
        Ok(result.as_bool().unwrap_or(false))
    }

    /// Creates `collection` in `index`, with `mappings` (such as
    /// `{"properties": {"at": {"type": "date"}}}`) when given. Kuzzle updates the mappings of a
    /// collection that exists.
    pub fn create(
        &self,
        index: &str,
        collection: &str,
        mappings: Option<Value>,
    ) -> Result<(), ApiError> {
        let mut request = request("create", index, collection);
        if let Some(mappings) = mappings {
            request["body"] = mappings;
        }
        self.api.call(request)?;
        Ok(())
    }

    /// Creates `collection` in `index`, treating an "already exists" error as success.
    pub fn ensure(
        &self,
        index: &str,
        collection: &str,
        mappings: Option<Value>,
    ) -> Result<(), ApiError> {
        match self.create(index, collection, mappings) {
            Err(error) if error.is_already_exists() => Ok(()),
            outcome => outcome,
        }
    }
}

fn request(action: &str, index: &str, collection: &str) -> Value {
    json!({
        "controller": "collection",
        "action": action,
        "index": index,
        "collection": collection,
    })
}
