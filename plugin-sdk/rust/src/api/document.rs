//! Helpers for the `document` controller.

use serde_json::{Value, json};

use super::Api;
use crate::ApiError;

/// The `document` controller's actions. Each returns the action's `result`, or its API error.
#[derive(Debug, Clone, Copy)]
pub struct Documents<'a> {
    api: Api<'a>,
}

impl<'a> Documents<'a> {
    pub(super) fn new(api: Api<'a>) -> Self {
        Self { api }
    }

    /// Creates a document with `content`; with `id` `None` the server chooses the id. Returns
    /// `{"_id", "_version", "_source"}`.
    pub fn create(
        &self,
        index: &str,
        collection: &str,
        id: Option<&str>,
        content: Value,
    ) -> Result<Value, ApiError> {
        let mut request = target("create", index, collection);
        if let Some(id) = id {
            request["_id"] = id.into();
        }
        request["body"] = content;
        self.api.call(request)
    }

    /// Creates the document `id`, or replaces it when it exists.
    pub fn create_or_replace(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        content: Value,
    ) -> Result<Value, ApiError> {
        let mut request = target_id("createOrReplace", index, collection, id);
        request["body"] = content;
        self.api.call(request)
    }

    /// Returns the document `id` as `{"_id", "_version", "_source"}`.
    pub fn get(&self, index: &str, collection: &str, id: &str) -> Result<Value, ApiError> {
        self.api.call(target_id("get", index, collection, id))
    }

    /// Returns whether the document `id` exists.
    pub fn exists(&self, index: &str, collection: &str, id: &str) -> Result<bool, ApiError> {
        let result = self.api.call(target_id("exists", index, collection, id))?;
        Ok(result.as_bool().unwrap_or(false))
    }

    /// Merges `changes` into the document `id`.
    pub fn update(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        changes: Value,
    ) -> Result<Value, ApiError> {
        let mut request = target_id("update", index, collection, id);
        request["body"] = changes;
        self.api.call(request)
    }

    /// Replaces the content of the existing document `id`.
    pub fn replace(
        &self,
        index: &str,
        collection: &str,
        id: &str,
        content: Value,
    ) -> Result<Value, ApiError> {
        let mut request = target_id("replace", index, collection, id);
        request["body"] = content;
        self.api.call(request)
    }

    /// Deletes the document `id`.
    pub fn delete(&self, index: &str, collection: &str, id: &str) -> Result<Value, ApiError> {
        self.api.call(target_id("delete", index, collection, id))
    }

    /// Searches with `search`, a Kuzzle search body such as `{"query": {...}, "sort": [...]}`,
    /// and returns at most `size` hits as `{"hits", "total", ...}`.
    pub fn search(
        &self,
        index: &str,
        collection: &str,
        search: Value,
        size: u32,
    ) -> Result<Value, ApiError> {
        let mut request = target("search", index, collection);
        request["body"] = search;
        request["size"] = size.into();
        self.api.call(request)
    }

    /// Counts the documents that match `search` (`{"query": {...}}`, or `{}` for all).
    pub fn count(&self, index: &str, collection: &str, search: Value) -> Result<u64, ApiError> {
        let mut request = target("count", index, collection);
        request["body"] = search;
        let result = self.api.call(request)?;
        Ok(result["count"].as_u64().unwrap_or(0))
    }
}

fn target(action: &str, index: &str, collection: &str) -> Value {
    json!({
        "controller": "document",
        "action": action,
        "index": index,
        "collection": collection,
    })
}

fn target_id(action: &str, index: &str, collection: &str, id: &str) -> Value {
    let mut request = target(action, index, collection);
    request["_id"] = id.into();
    request
}
