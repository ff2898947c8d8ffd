//! The `document` controller: single-document reads and writes. Multi-document actions are in
//! `document_multi.rs`, query actions (search, count, by-query writes) in `document_query.rs`
//! and `export` in `document_export.rs`.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use palisade_realtime::DocumentAction;
use palisade_storage::{BulkOperation, WriteResult};
use serde_json::{Map, Value, json};

use super::store_args::{self as args, Notifier, storage_error};
use super::{Controller, document_export, document_multi, document_query};
use crate::state::ServerState;

/// Document actions.
#[derive(Debug)]
pub struct DocumentController;

#[async_trait]
impl Controller for DocumentController {
    fn name(&self) -> &'static str {
        "document"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "count",
            "create",
            "createOrReplace",
            "delete",
            "deleteByQuery",
            "deleteFields",
            "exists",
            "export",
            "get",
            "mCreate",
            "mCreateOrReplace",
            "mDelete",
            "mExists",
            "mGet",
            "mReplace",
            "mUpdate",
            "mUpsert",
            "replace",
            "scroll",
            "search",
            "update",
            "updateByQuery",
            "upsert",
            "validate",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "create" => create(state, request).await,
            "createOrReplace" => create_or_replace(state, request).await,
            "replace" => replace(state, request).await,
            "update" => update(state, request).await,
            "upsert" => upsert(state, request).await,
            "delete" => delete(state, request).await,
            "deleteFields" => delete_fields(state, request).await,
            "get" => get(state, request).await,
            "exists" => exists(state, request).await,
            "validate" => validate(state, request).await,
            "mGet" => document_multi::get_many(state, request).await,
            "mExists" => document_multi::exists_many(state, request).await,
            "mCreate" | "mCreateOrReplace" | "mReplace" | "mUpdate" => {
                document_multi::write_many(state, request, action).await
            }
            "mUpsert" => document_multi::upsert_many(state, request).await,
            "mDelete" => document_multi::delete_many(state, request).await,
            "search" => document_query::search(state, request).await,
            "scroll" => document_query::scroll(state, request).await,
            "count" => document_query::count(state, request).await,
            "deleteByQuery" => document_query::delete_by_query(state, request).await,
            "updateByQuery" => document_query::update_by_query(state, request).await,
            "export" => document_export::export(state, request).await,
            _ => Err(ApiError::action_not_found(&request.controller, action)),
        }
    }
}

/// Reads the optional `_id` of `create`: absent means the store generates one.
fn optional_id(request: &Request) -> Result<Option<&str>, ApiError> {
    match request.optional_string("_id")? {
        Some("") | None => Ok(None),
        Some(id) => Ok(Some(id)),
    }
}

fn body_value(request: &Request) -> Result<Value, ApiError> {
    Ok(Value::Object(request.body_object()?.clone()))
}

async fn create(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = optional_id(request)?;
    let options = args::write_options(request)?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let info = args::created_info(args::user_id(request), args::now_ms());
    let source = args::with_info(body_value(request)?, info, "body")?;

    let write = state
        .storage
        .create(index, collection, id, source, options)
        .await
        .map_err(storage_error)?;
    notifier.notify(DocumentAction::Create, &write);
    Ok(args::document_json(&write.id, write.source, write.version).into())
}

async fn create_or_replace(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    let options = args::write_options(request)?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let info = args::replaced_info(args::user_id(request), args::now_ms());
    let source = args::with_info(body_value(request)?, info, "body")?;

    let write = state
        .storage
        .create_or_replace(index, collection, id, source, options)
        .await
        .map_err(storage_error)?;
    notifier.notify_created_or(DocumentAction::Replace, &write);
    let mut result = args::document_json(&write.id, write.source, write.version);
    result["created"] = json!(write.created);
    Ok(result.into())
}

async fn replace(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    let options = args::write_options(request)?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let info = args::replaced_info(args::user_id(request), args::now_ms());
    let source = args::with_info(body_value(request)?, info, "body")?;

    let write = state
        .storage
        .replace(index, collection, id, source, options)
        .await
        .map_err(storage_error)?;
    notifier.notify(DocumentAction::Replace, &write);
    Ok(args::document_json(&write.id, write.source, write.version).into())
}

async fn update(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let info = args::updated_info(args::user_id(request), args::now_ms());
    let changes = args::with_info(body_value(request)?, info, "body")?;
    let updated_fields = args::updated_fields(&changes);

    let write = state
        .storage
        .update(index, collection, id, changes.clone(), options)
        .await
        .map_err(storage_error)?;
    notifier.notify(DocumentAction::Update { updated_fields }, &write);

    // Kuzzle returns the changes with the stored `_kuzzle_info`, or the whole document with
    // `source`.
    let source = if full_source {
        write.source
    } else {
        Some(changes_with_stored_info(changes, write.source.as_ref()))
    };
    Ok(args::document_json(&write.id, source, write.version).into())
}

/// Replaces the `_kuzzle_info` of an update's changes with the one stored after the update,
/// which also contains `author` and `createdAt`.
pub(super) fn changes_with_stored_info(mut changes: Value, stored: Option<&Value>) -> Value {
    let info = stored
        .and_then(|source| source.get("_kuzzle_info"))
        .cloned();
    if let (Some(object), Some(info)) = (changes.as_object_mut(), info) {
        object.insert("_kuzzle_info".into(), info);
    }
    changes
}

async fn upsert(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let body = request.body_object()?;
    let changes = args::body_object_field(body, "changes")?.clone();
    let default = match body.get("default") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(default)) => default.clone(),
        Some(_) => return Err(ApiError::invalid_type("body.default", "object")),
    };

    let upsert = Upsert {
        id,
        changes,
        default,
    };
    let write = upsert_one(state, request, index, collection, upsert, options).await?;
    let updated_fields = args::updated_fields(write.source.as_ref().unwrap_or(&Value::Null));
    notifier.notify_created_or(DocumentAction::Update { updated_fields }, &write);

    let mut result = json!({"_id": write.id, "_version": write.version, "created": write.created});
    if full_source {
        result["_source"] = write.source.unwrap_or(Value::Null);
    }
    Ok(result.into())
}

/// One upsert: changes applied to an existing document, or `default` and `changes` stored as a
/// new one.
pub(super) struct Upsert<'a> {
    pub id: &'a str,
    pub changes: Map<String, Value>,
    pub default: Map<String, Value>,
}

impl Upsert<'_> {
    /// Builds the store operation, with `_kuzzle_info` in both parts: `{updatedAt, updater}` in
    /// the changes, and `{author, createdAt}` in the default, so a created document has all four.
    ///
    /// Kuzzle creates the document from `{...default, ...changes}`, where a top-level field of
    /// `changes` replaces the same field of `default`. The store deep-merges the two, so the
    /// default keeps only the top-level fields that `changes` does not set.
    pub(super) fn operation(self, user: &str, now: u64) -> BulkOperation {
        let (id, changes, default) = self.into_parts(user, now);
        BulkOperation::Upsert {
            id,
            changes,
            default,
        }
    }

    /// Returns the id, the changes and the default of the store's upsert.
    fn into_parts(self, user: &str, now: u64) -> (String, Value, Value) {
        let mut default = self.default;
        default.retain(|key, _| !self.changes.contains_key(key));
        default.insert(
            "_kuzzle_info".into(),
            json!({"author": user, "createdAt": now}),
        );
        let mut changes = self.changes;
        changes.insert("_kuzzle_info".into(), args::updated_info(user, now));
        (
            self.id.to_owned(),
            Value::Object(changes),
            Value::Object(default),
        )
    }
}

/// Updates a document, or creates it when it does not exist, in one store write.
pub(super) async fn upsert_one(
    state: &ServerState,
    request: &Request,
    index: &str,
    collection: &str,
    upsert: Upsert<'_>,
    options: palisade_storage::WriteOptions,
) -> Result<WriteResult, ApiError> {
    let (id, changes, default) = upsert.into_parts(args::user_id(request), args::now_ms());
    state
        .storage
        .upsert(index, collection, &id, changes, default, options)
        .await
        .map_err(storage_error)
}

async fn delete(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;

    let write = state
        .storage
        .delete(index, collection, id, options)
        .await
        .map_err(storage_error)?;
    notifier.notify(DocumentAction::Delete, &write);

    if full_source {
        return Ok(args::document_json(&write.id, write.old_source, write.version).into());
    }
    Ok(json!({"_id": write.id}).into())
}

/// Removes fields given as dotted paths. Like Kuzzle, this reads the document, removes the
/// fields and replaces it, so `_kuzzle_info` is updated in the same write.
async fn delete_fields(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let body = request.body_object()?;
    let fields = args::body_array_field(body, "fields")?;
    let mut paths = Vec::with_capacity(fields.len());
    for field in fields {
        let Some(path) = field.as_str() else {
            return Err(ApiError::invalid_type("body.fields", "array of strings"));
        };
        paths.push(path);
    }

    let document = state
        .storage
        .get(index, collection, id)
        .await
        .map_err(storage_error)?;
    let mut source = document.source;
    for path in &paths {
        remove_path(&mut source, path);
    }
    let info = args::updated_info(args::user_id(request), args::now_ms());
    merge_info(&mut source, info);

    let write = state
        .storage
        .replace(index, collection, id, source, options)
        .await
        .map_err(storage_error)?;
    let updated_fields = paths
        .iter()
        .map(|path| path.split('.').next().unwrap_or(path).to_owned())
        .collect();
    notifier.notify(DocumentAction::Update { updated_fields }, &write);

    if full_source {
        return Ok(args::document_json(&write.id, write.source, write.version).into());
    }
    Ok(json!({"_id": write.id, "_version": write.version}).into())
}

/// Removes the field at a dotted path; a path that does not exist is ignored.
fn remove_path(source: &mut Value, path: &str) {
    let mut segments: Vec<&str> = path.split('.').collect();
    let Some(last) = segments.pop() else {
        return;
    };
    let mut current = source;
    for segment in segments {
        match current.get_mut(segment) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(object) = current.as_object_mut() {
        object.remove(last);
    }
}

/// Merges update metadata into a source's `_kuzzle_info`, keeping `author` and `createdAt`.
fn merge_info(source: &mut Value, info: Value) {
    let Some(object) = source.as_object_mut() else {
        return;
    };
    let entry = object
        .entry("_kuzzle_info")
        .or_insert_with(|| Value::Object(Map::new()));
    if let (Some(current), Value::Object(info)) = (entry.as_object_mut(), info) {
        current.extend(info);
    }
}

async fn get(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    if id == "_search" {
        return Err(ApiError::new(
            ErrorId::ServicesStorageSearchAsAnId,
            "\"_search\" is not a valid document id: use document:search to search documents.",
        ));
    }

    let document = state
        .storage
        .get(index, collection, id)
        .await
        .map_err(storage_error)?;
    Ok(args::document_json(&document.id, Some(document.source), document.version).into())
}

async fn exists(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let id = args::document_id(request)?;
    let exists = state
        .storage
        .exists(index, collection, id)
        .await
        .map_err(storage_error)?;
    Ok(json!(exists).into())
}

/// Checks a document against the collection's validation specifications. Palisade has none yet,
/// so every document of an existing collection is valid.
async fn validate(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    request.body_object()?;
    state
        .storage
        .get_mapping(index, collection, false)
        .await
        .map_err(storage_error)?;
    Ok(json!({"valid": true, "errorMessages": {}}).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_default_loses_changed_fields() {
        let upsert = Upsert {
            id: "d",
            changes: json!({"a": {"x": 1}}).as_object().unwrap().clone(),
            default: json!({"a": {"y": 2}, "b": 3}).as_object().unwrap().clone(),
        };
        let (id, changes, default) = upsert.into_parts("u", 7);
        assert_eq!(id, "d");
        assert_eq!(changes["a"], json!({"x": 1}));
        assert_eq!(
            changes["_kuzzle_info"],
            json!({"updatedAt": 7, "updater": "u"})
        );
        assert!(
            default.get("a").is_none(),
            "changes replace top-level default fields"
        );
        assert_eq!(default["b"], 3);
        assert_eq!(
            default["_kuzzle_info"],
            json!({"author": "u", "createdAt": 7})
        );
    }

    #[test]
    fn nested_path_removed() {
        let mut source = json!({"a": {"b": 1, "c": 2}, "d": 3});
        remove_path(&mut source, "a.b");
        remove_path(&mut source, "d");
        remove_path(&mut source, "x.y");
        assert_eq!(source, json!({"a": {"c": 2}}));
    }

    #[test]
    fn info_merge_keeps_author() {
        let mut source = json!({"_kuzzle_info": {"author": "u", "createdAt": 1}});
        merge_info(&mut source, json!({"updatedAt": 2, "updater": "v"}));
        assert_eq!(source["_kuzzle_info"]["author"], "u");
        assert_eq!(source["_kuzzle_info"]["updatedAt"], 2);
    }
}
