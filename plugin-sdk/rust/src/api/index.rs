//! Helpers for the `index` controller.

use serde_json::json;

use super::Api;
use crate::ApiError;

/// The `index` controller's actions.
#[derive(Debug, Clone, Copy)]
pub struct Indexes<'a> {
    api: Api<'a>,
}

impl<'a> Indexes<'a> {
    pub(super) fn new(api: Api<'a>) -> Self {
        Self { api }
    }

    /// Returns whether `index` exists.
    pub fn exists(&self, index: &str) -> Result<bool, ApiError> {
        let result = self.api.call(request("exists", index))?;
        Ok(result.as_bool().unwrap_or(false))
    }

    /// Creates `index`. Fails with Kuzzle's `services.storage.index_already_exists` error when
    /// it exists; see [`ApiError::is_already_exists`].
    pub fn create(&self, index: &str) -> Result<(), ApiError> {
        self.api.call(request("create", index))?;
        Ok(())
    }

    /// Creates `index` unless it exists, also when another call creates it in between.
    pub fn ensure(&self, index: &str) -> Result<(), ApiError> {
        if self.exists(index)? {
            return Ok(());
        }
        match self.create(index) {
            Err(error) if error.is_already_exists() => Ok(()),
            outcome => outcome,
        }
    }

    /// Deletes `index` and its collections.
    pub fn delete(&self, index: &str) -> Result<(), ApiError> {
        self.api.call(request("delete", index))?;
        Ok(())
    }
}

fn request(action: &str, index: &str) -> serde_json::Value {
    json!({"controller": "index", "action": action, "index": index})
}
