//! Multi-document actions of the `document` controller: mGet, mExists and the m* writes.
//!
//! Each item succeeds or fails on its own. With `strict`, any failed item fails the request with
//! `api.process.incomplete_multiple_request`, but as in Kuzzle the other items stay written.

use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use palisade_realtime::DocumentAction;
use palisade_storage::{BulkOperation, StorageError, WriteResult};
use serde_json::{Map, Value, json};

use super::document::Upsert;
use super::store_args::{self as args, Notifier, storage_error};
use crate::state::ServerState;

/// The outcome of a multi-document action: `{successes, errors}`.
#[derive(Default)]
struct Outcome {
    successes: Vec<Value>,
    errors: Vec<Value>,
}

impl Outcome {
    /// Returns the result, or `incomplete_multiple_request` when `strict` and an item failed.
    fn finish(self, strict: bool, action: &str) -> ApiResult {
        if strict && !self.errors.is_empty() {
            let failed = self.errors.len();
            let total = failed + self.successes.len();
            return Err(ApiError::new(
                ErrorId::ApiProcessIncompleteMultipleRequest,
                format!(
                    "document:{action} failed on {failed} of {total} items (strict mode): see \
                     \"errors\" for each item."
                ),
            )
            .with_props([action.to_owned(), failed.to_string()])
            .with_errors(self.errors));
        }
        Ok(json!({"successes": self.successes, "errors": self.errors}).into())
    }
}

/// Returns whether the body has `ids`. An empty list counts as absent, so that the `ids`
/// argument is read instead.
fn has_body_ids(body: &Map<String, Value>) -> bool {
    match body.get("ids") {
        None | Some(Value::Null) => false,
        Some(Value::Array(ids)) => !ids.is_empty(),
        Some(_) => true,
    }
}

/// Reads the ids of mGet and mExists: `body.ids`, or the `ids` argument, which over HTTP is a
/// comma-separated list (`?ids=a,b`) as the SDK sends it.
fn ids(request: &Request) -> Result<Vec<String>, ApiError> {
    let list = match (&request.body, request.args.get("ids")) {
        (Some(Value::Object(body)), _) if has_body_ids(body) => {
            args::body_array_field(body, "ids")?.clone()
        }
        (_, Some(Value::String(text))) => text
            .split(',')
            .filter(|id| !id.is_empty())
            .map(|id| json!(id))
            .collect(),
        (_, Some(Value::Array(list))) => list.clone(),
        (_, Some(_)) => return Err(ApiError::invalid_type("ids", "array")),
        (_, None) => return Err(ApiError::missing_argument("ids")),
    };
    list.into_iter()
        .map(|id| match id {
            Value::String(id) => Ok(id),
            _ => Err(ApiError::invalid_type("ids", "array of strings")),
        })
        .collect()
}

pub(super) async fn get_many(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let ids = ids(request)?;
    args::check_fetch_count(state, ids.len() as i64)?;
    let strict = request.boolean("strict")?;

    let found = state
        .storage
        .mget(index, collection, ids)
        .await
        .map_err(storage_error)?;
    let outcome = Outcome {
        successes: found
            .found
            .into_iter()
            .map(|d| args::document_json(&d.id, Some(d.source), d.version))
            .collect(),
        errors: found.missing.into_iter().map(Value::String).collect(),
    };
    outcome.finish(strict, "mGet")
}

pub(super) async fn exists_many(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let ids = ids(request)?;
    args::check_fetch_count(state, ids.len() as i64)?;
    let strict = request.boolean("strict")?;

    let found = state
        .storage
        .mget(index, collection, ids)
        .await
        .map_err(storage_error)?;
    let outcome = Outcome {
        successes: found.found.into_iter().map(|d| json!(d.id)).collect(),
        errors: found.missing.into_iter().map(Value::String).collect(),
    };
    outcome.finish(strict, "mExists")
}

/// Reads `body.documents` and checks it against `limits.documentsWriteCount`.
///
/// A document with `_source` in place of `body` fails the whole request, as in Kuzzle, because
/// it is a common mistake that would otherwise write empty documents.
fn documents<'a>(state: &ServerState, request: &'a Request) -> Result<&'a [Value], ApiError> {
    let body = request.body_object()?;
    let documents = args::body_array_field(body, "documents")?;
    args::check_write_count(state, documents.len())?;
    for (position, document) in documents.iter().enumerate() {
        if document.get("_source").is_some() {
            let found = format!("documents[{position}]._source");
            let expected = format!("documents[{position}].body");
            return Err(ApiError::new(
                ErrorId::ApiAssertUnexpectedArgument,
                format!("Unexpected argument \"{found}\": send the content as \"{expected}\"."),
            )
            .with_props([found, expected]));
        }
    }
    Ok(documents)
}

/// Builds an item error of an m* write: `{document: {_id, body}, reason, status}`.
fn item_error(document: &Value, reason: &str, status: u16) -> Value {
    let id = document.get("_id").cloned().unwrap_or(Value::Null);
    let body = document.get("body").cloned().unwrap_or(Value::Null);
    json!({"document": {"_id": id, "body": body}, "reason": reason, "status": status})
}

fn storage_item_error(document: &Value, error: StorageError) -> Value {
    let error = storage_error(error);
    item_error(document, error.message(), error.status())
}

/// Checks one item of mCreate, mCreateOrReplace, mReplace or mUpdate and builds its operation.
fn operation(action: &str, item: &Value, info: &Value) -> Result<BulkOperation, String> {
    let Some(object) = item.as_object() else {
        return Err("the document must be an object with `_id` and `body`".into());
    };
    let Some(Value::Object(body)) = object.get("body") else {
        return Err("the document has no `body` object".into());
    };
    let id = match object.get("_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err("the document `_id` must be a string".into()),
    };

    let mut source = body.clone();
    source.insert("_kuzzle_info".into(), info.clone());
    let source = Value::Object(source);
    match (action, id) {
        ("mCreate", id) => Ok(BulkOperation::Create { id, source }),
        (_, None) => Err("the document has no `_id`".into()),
        ("mCreateOrReplace", Some(id)) => Ok(BulkOperation::CreateOrReplace { id, source }),
        ("mReplace", Some(id)) => Ok(BulkOperation::Replace { id, source }),
        (_, Some(id)) => Ok(BulkOperation::Update {
            id,
            changes: source,
        }),
    }
}

fn metadata_of(action: &str, request: &Request) -> Value {
    let user = args::user_id(request);
    let now = args::now_ms();
    match action {
        "mCreate" => args::created_info(user, now),
        "mUpdate" => args::updated_info(user, now),
        _ => args::replaced_info(user, now),
    }
}

/// Runs mCreate, mCreateOrReplace, mReplace or mUpdate as one bulk write.
pub(super) async fn write_many(state: &ServerState, request: &Request, action: &str) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let items = documents(state, request)?;
    let options = args::write_options(request)?;
    let strict = request.boolean("strict")?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let info = metadata_of(action, request);

    let mut outcome = Outcome::default();
    let mut accepted = Vec::new();
    let mut operations = Vec::new();
    for item in items {
        match operation(action, item, &info) {
            Ok(operation) => {
                accepted.push(item);
                operations.push(operation);
            }
            Err(reason) => outcome.errors.push(item_error(item, &reason, 400)),
        }
    }

    let outlines: Vec<BulkOperation> = operations.iter().map(outline).collect();
    let results = state
        .storage
        .bulk(index, collection, operations, options)
        .await
        .map_err(storage_error)?;
    for ((item, operation), result) in accepted.into_iter().zip(outlines).zip(results) {
        match result {
            Ok(write) => {
                notify_write(&notifier, &operation, &write);
                outcome
                    .successes
                    .push(success(&operation, write, full_source));
            }
            Err(error) => outcome.errors.push(storage_item_error(item, error)),
        }
    }
    outcome.finish(strict, action)
}

/// Copies an operation without its source and default, which the response and the
/// notification do not read: they take the written source from the write result. An update
/// keeps its changes, which both read.
fn outline(operation: &BulkOperation) -> BulkOperation {
    match operation {
        BulkOperation::Create { id, .. } => BulkOperation::Create {
            id: id.clone(),
            source: Value::Null,
        },
        BulkOperation::CreateOrReplace { id, .. } => BulkOperation::CreateOrReplace {
            id: id.clone(),
            source: Value::Null,
        },
        BulkOperation::Replace { id, .. } => BulkOperation::Replace {
            id: id.clone(),
            source: Value::Null,
        },
        BulkOperation::Upsert { id, changes, .. } => BulkOperation::Upsert {
            id: id.clone(),
            changes: changes.clone(),
            default: Value::Null,
        },
        BulkOperation::Update { .. } | BulkOperation::Delete { .. } => operation.clone(),
    }
}

fn notify_write(notifier: &Notifier<'_>, operation: &BulkOperation, write: &WriteResult) {
    match operation {
        BulkOperation::Create { .. } => notifier.notify(DocumentAction::Create, write),
        BulkOperation::CreateOrReplace { .. } => {
            notifier.notify_created_or(DocumentAction::Replace, write);
        }
        BulkOperation::Replace { .. } => notifier.notify(DocumentAction::Replace, write),
        BulkOperation::Update { changes, .. } => {
            let updated_fields = args::updated_fields(changes);
            notifier.notify(DocumentAction::Update { updated_fields }, write);
        }
        BulkOperation::Upsert { changes, .. } => {
            let updated_fields = args::updated_fields(changes);
            notifier.notify_created_or(DocumentAction::Update { updated_fields }, write);
        }
        BulkOperation::Delete { .. } => notifier.notify(DocumentAction::Delete, write),
    }
}

/// Builds a success item: `{_id, _source, _version, created, result, status}`.
fn success(operation: &BulkOperation, write: WriteResult, full_source: bool) -> Value {
    let source = match operation {
        BulkOperation::Update { changes, .. } if !full_source => Some(
            super::document::changes_with_stored_info(changes.clone(), write.source.as_ref()),
        ),
        _ => write.source,
    };
    let (result, status) = if write.created {
        ("created", 201)
    } else {
        ("updated", 200)
    };
    json!({
        "_id": write.id,
        "_source": source.unwrap_or(Value::Null),
        "_version": write.version,
        "created": write.created,
        "result": result,
        "status": status,
    })
}

/// Runs mUpsert as one bulk write: each item is `{_id, changes, default?}`.
pub(super) async fn upsert_many(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let items = documents(state, request)?;
    let options = args::write_options(request)?;
    let strict = request.boolean("strict")?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    let user = args::user_id(request);
    let now = args::now_ms();

    let mut outcome = Outcome::default();
    let mut accepted = Vec::new();
    let mut operations = Vec::new();
    for item in items {
        match upsert_item(item) {
            Ok(upsert) => {
                accepted.push(item);
                operations.push(upsert.operation(user, now));
            }
            Err(reason) => outcome.errors.push(upsert_error(item, &reason, 400)),
        }
    }

    let outlines: Vec<BulkOperation> = operations.iter().map(outline).collect();
    let results = state
        .storage
        .bulk(index, collection, operations, options)
        .await
        .map_err(storage_error)?;
    for ((item, operation), result) in accepted.into_iter().zip(outlines).zip(results) {
        match result {
            Ok(write) => {
                notify_write(&notifier, &operation, &write);
                let mut success = json!({
                    "_id": write.id,
                    "_version": write.version,
                    "created": write.created,
                    "status": if write.created { 201 } else { 200 },
                });
                if full_source {
                    success["_source"] = write.source.unwrap_or(Value::Null);
                }
                outcome.successes.push(success);
            }
            Err(error) => {
                let error = storage_error(error);
                outcome
                    .errors
                    .push(upsert_error(item, error.message(), error.status()));
            }
        }
    }
    outcome.finish(strict, "mUpsert")
}

fn upsert_item(item: &Value) -> Result<Upsert<'_>, String> {
    let Some(Value::String(id)) = item.get("_id") else {
        return Err("the document has no string `_id`".into());
    };
    let Some(Value::Object(changes)) = item.get("changes") else {
        return Err("the document has no `changes` object".into());
    };
    let default = match item.get("default") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(default)) => default.clone(),
        Some(_) => return Err("the document `default` must be an object".into()),
    };
    Ok(Upsert {
        id,
        changes: changes.clone(),
        default,
    })
}

fn upsert_error(item: &Value, reason: &str, status: u16) -> Value {
    let id = item.get("_id").cloned().unwrap_or(Value::Null);
    let changes = item.get("changes").cloned().unwrap_or(Value::Null);
    json!({"document": {"_id": id, "changes": changes}, "reason": reason, "status": status})
}

/// Runs mDelete: `body.ids`; errors are `{_id, reason, status}`.
pub(super) async fn delete_many(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let body = request.body_object()?;
    let ids = args::body_array_field(body, "ids")?;
    args::check_write_count(state, ids.len())?;
    let options = args::write_options(request)?;
    let strict = request.boolean("strict")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;

    let mut outcome = Outcome::default();
    let mut operations = Vec::new();
    for id in ids {
        match id {
            Value::String(id) => operations.push(BulkOperation::Delete { id: id.clone() }),
            other => outcome.errors.push(json!({
                "_id": other, "reason": "the id must be a string", "status": 400
            })),
        }
    }

    let results = state
        .storage
        .bulk(index, collection, operations.clone(), options)
        .await
        .map_err(storage_error)?;
    for (operation, result) in operations.into_iter().zip(results) {
        let BulkOperation::Delete { id } = operation else {
            continue;
        };
        match result {
            Ok(write) => {
                notifier.notify(DocumentAction::Delete, &write);
                outcome.successes.push(json!(write.id));
            }
            Err(error) => {
                let error = storage_error(error);
                outcome
                    .errors
                    .push(json!({"_id": id, "reason": error.message(), "status": error.status()}));
            }
        }
    }
    outcome.finish(strict, "mDelete")
}
