//! Helpers for the `realtime` controller.

use serde_json::{Value, json};

use super::Api;
use crate::ApiError;

/// The `realtime` controller's actions.
#[derive(Debug, Clone, Copy)]
pub struct Realtime<'a> {
    api: Api<'a>,
}

impl<'a> Realtime<'a> {
    pub(super) fn new(api: Api<'a>) -> Self {
        Self { api }
    }

    /// Sends `message` to the subscribers of `index`/`collection` whose filters match it,
    /// without storing it.
    pub fn publish(&self, index: &str, collection: &str, message: Value) -> Result<(), ApiError> {
        self.api.call(json!({
            "controller": "realtime",
            "action": "publish",
            "index": index,
            "collection": collection,
            "body": message,
        }))?;
        Ok(())
    }
}
