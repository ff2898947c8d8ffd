//! The `bulk` controller: raw writes for imports. Unlike the `document` controller it injects no
//! `_kuzzle_info` and notifies subscribers only when the request sets `notify`.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use palisade_realtime::DocumentAction;
use palisade_storage::{BulkOperation, WriteResult};
use serde_json::{Map, Value, json};

use super::Controller;
use super::store_args::{self as args, Notifier, storage_error};
use crate::state::ServerState;

/// Bulk actions.
#[derive(Debug)]
pub struct BulkController;

#[async_trait]
impl Controller for BulkController {
    fn name(&self) -> &'static str {
        "bulk"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "deleteByQuery",
            "import",
            "mWrite",
            "updateByQuery",
            "write",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "import" => import(state, request).await,
            "write" => write(state, request).await,
            "mWrite" => write_many(state, request).await,
            "deleteByQuery" => delete_by_query(state, request).await,
            "updateByQuery" => update_by_query(state, request).await,
            _ => Err(ApiError::action_not_found(&request.controller, action)),
        }
    }
}

/// One operation parsed from Elasticsearch bulk lines, with the action name it came from.
struct ImportItem {
    action: String,
    operation: Result<BulkOperation, String>,
    id: Option<String>,
}

/// Parses `body.bulkData`: an action line (`index`, `create`, `update` or `delete`) followed by
/// a source line, except for `delete`.
fn parse_bulk_data(lines: &[Value]) -> Result<Vec<ImportItem>, ApiError> {
    let mut items = Vec::new();
    let mut lines = lines.iter();
    while let Some(line) = lines.next() {
        let Some((action, meta)) = line.as_object().and_then(|o| o.iter().next()) else {
            return Err(ApiError::invalid_argument(
                "body.bulkData",
                "action lines such as {\"index\": {\"_id\": \"...\"}} each followed by a \
                 document",
            ));
        };
        let id = meta.get("_id").and_then(Value::as_str).map(str::to_owned);
        if action == "delete" {
            let operation = id
                .clone()
                .map(|id| BulkOperation::Delete { id })
                .ok_or_else(|| "`delete` needs an `_id`".to_owned());
            items.push(ImportItem {
                action: action.clone(),
                operation,
                id,
            });
            continue;
        }

        let Some(source) = lines.next() else {
            return Err(ApiError::invalid_argument(
                "body.bulkData",
                "a document line after each action line other than `delete`",
            ));
        };
        items.push(ImportItem {
            action: action.clone(),
            operation: import_operation(action, id.clone(), source.clone()),
            id,
        });
    }
    Ok(items)
}

fn import_operation(
    action: &str,
    id: Option<String>,
    source: Value,
) -> Result<BulkOperation, String> {
    if !source.is_object() {
        return Err("the document line must be an object".into());
    }
    match (action, id) {
        ("create", id) => Ok(BulkOperation::Create { id, source }),
        ("index", None) => Ok(BulkOperation::Create { id: None, source }),
        ("index", Some(id)) => Ok(BulkOperation::CreateOrReplace { id, source }),
        ("update", Some(id)) => match source.get("doc") {
            Some(changes @ Value::Object(_)) => Ok(BulkOperation::Update {
                id,
                changes: changes.clone(),
            }),
            _ => Err("an `update` line needs a `doc` object".into()),
        },
        ("update", None) => Err("`update` needs an `_id`".into()),
        (other, _) => Err(format!(
            "unknown bulk action `{other}`; use index, create, update or delete"
        )),
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

/// Runs Elasticsearch bulk lines. Returns `{successes, errors}` with one
/// `{<action>: {_id, status, ...}}` item per operation.
async fn import(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let body = request.body_object()?;
    let lines = args::body_array_field(body, "bulkData")?;
    let items = parse_bulk_data(lines)?;
    args::check_write_count(state, items.len())?;
    let options = args::write_options(request)?;
    let strict = request.boolean("strict")?;
    let notifier = Notifier::for_bulk(state, request, index, collection)?;

    let mut errors = Vec::new();
    let mut accepted = Vec::new();
    let mut operations = Vec::new();
    for item in items {
        match item.operation {
            Ok(operation) => {
                accepted.push((item.action, item.id));
                operations.push(operation);
            }
            Err(reason) => errors.push(json!({item.action: {
                "_id": item.id, "status": 400, "error": {"type": "invalid_argument", "reason": reason}
            }})),
        }
    }

    let results = state
        .storage
        .bulk(index, collection, operations.clone(), options)
        .await
        .map_err(storage_error)?;
    let mut successes = Vec::new();
    for (((action, id), operation), result) in accepted.into_iter().zip(operations).zip(results) {
        match result {
            Ok(write) => {
                notify_write(&notifier, &operation, &write);
                let status = if write.created { 201 } else { 200 };
                successes.push(json!({action: {
                    "_id": write.id, "_version": write.version, "status": status
                }}));
            }
            Err(error) => {
                let error = storage_error(error);
                errors.push(json!({action: {
                    "_id": id,
                    "status": error.status(),
                    "error": {"type": error.id().id(), "reason": error.message()}
                }}));
            }
        }
    }
    finish_multiple(successes, errors, strict, "import")
}

/// Returns `{successes, errors}`, or `incomplete_multiple_request` when `strict` and an item
/// failed. As in the document controller, the items that succeeded stay written.
fn finish_multiple(
    successes: Vec<Value>,
    errors: Vec<Value>,
    strict: bool,
    action: &str,
) -> ApiResult {
    if strict && !errors.is_empty() {
        let failed = errors.len();
        let total = failed + successes.len();
        return Err(ApiError::new(
            ErrorId::ApiProcessIncompleteMultipleRequest,
            format!(
                "bulk:{action} failed on {failed} of {total} items (strict mode): see \"errors\" \
                 for each item."
            ),
        )
        .with_props([action.to_owned(), failed.to_string()])
        .with_errors(errors));
    }
    Ok(json!({"successes": successes, "errors": errors}).into())
}

/// Writes one document as is: created when it has no `_id`, else created or replaced.
async fn write(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let source = Value::Object(request.body_object()?.clone());
    let options = args::write_options(request)?;
    let notifier = Notifier::for_bulk(state, request, index, collection)?;
    let operation = match request.optional_string("_id")? {
        None | Some("") => BulkOperation::Create { id: None, source },
        Some(id) => BulkOperation::CreateOrReplace {
            id: id.to_owned(),
            source,
        },
    };

    let write = match operation.clone() {
        BulkOperation::Create { id, source } => {
            state
                .storage
                .create(index, collection, id.as_deref(), source, options)
                .await
        }
        BulkOperation::CreateOrReplace { id, source } => {
            state
                .storage
                .create_or_replace(index, collection, &id, source, options)
                .await
        }
        _ => unreachable!("bulk:write builds only create operations"),
    }
    .map_err(storage_error)?;
    notify_write(&notifier, &operation, &write);

    Ok(args::document_json(&write.id, write.source, write.version).into())
}

/// Writes `body.documents` as is, each `{_id?, body}`, in one bulk write. As in Kuzzle,
/// `limits.documentsWriteCount` does not apply, because this action exists for imports.
async fn write_many(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let body = request.body_object()?;
    let documents = args::body_array_field(body, "documents")?;
    let options = args::write_options(request)?;
    let strict = request.boolean("strict")?;
    let notifier = Notifier::for_bulk(state, request, index, collection)?;

    let mut errors = Vec::new();
    let mut accepted = Vec::new();
    let mut operations = Vec::new();
    for document in documents {
        match mwrite_operation(document) {
            Ok(operation) => {
                accepted.push(document);
                operations.push(operation);
            }
            Err(reason) => errors.push(mwrite_error(document, &reason, 400)),
        }
    }

    let results = state
        .storage
        .bulk(index, collection, operations.clone(), options)
        .await
        .map_err(storage_error)?;
    let mut successes = Vec::new();
    for ((document, operation), result) in accepted.into_iter().zip(operations).zip(results) {
        match result {
            Ok(write) => {
                notify_write(&notifier, &operation, &write);
                successes.push(args::document_json(&write.id, write.source, write.version));
            }
            Err(error) => {
                let error = storage_error(error);
                errors.push(mwrite_error(document, error.message(), error.status()));
            }
        }
    }
    finish_multiple(successes, errors, strict, "mWrite")
}

fn mwrite_operation(document: &Value) -> Result<BulkOperation, String> {
    let Some(Value::Object(source)) = document.get("body") else {
        return Err("the document has no `body` object".into());
    };
    let source = Value::Object(source.clone());
    match document.get("_id") {
        None | Some(Value::Null) => Ok(BulkOperation::Create { id: None, source }),
        Some(Value::String(id)) => Ok(BulkOperation::CreateOrReplace {
            id: id.clone(),
            source,
        }),
        Some(_) => Err("the document `_id` must be a string".into()),
    }
}

fn mwrite_error(document: &Value, reason: &str, status: u16) -> Value {
    let id = document.get("_id").cloned().unwrap_or(Value::Null);
    let body = document.get("body").cloned().unwrap_or(Value::Null);
    json!({"document": {"_id": id, "body": body}, "reason": reason, "status": status})
}

/// Deletes every matching document; returns `{deleted: <count>}`.
async fn delete_by_query(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let query = args::required_query(request)?;
    let options = args::write_options(request)?;
    let notifier = Notifier::for_bulk(state, request, index, collection)?;

    let writes = state
        .storage
        .delete_by_query(index, collection, query, options)
        .await
        .map_err(storage_error)?;
    for write in &writes {
        notifier.notify(DocumentAction::Delete, write);
    }
    Ok(json!({"deleted": writes.len()}).into())
}

/// Applies `body.changes` to every matching document as is; returns `{updated: <count>}`.
async fn update_by_query(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let query = args::required_query(request)?;
    let body = request.body_object()?;
    let changes: Map<String, Value> = args::body_object_field(body, "changes")?.clone();
    let changes = Value::Object(changes);
    let updated_fields = args::updated_fields(&changes);
    let options = args::write_options(request)?;
    let notifier = Notifier::for_bulk(state, request, index, collection)?;

    let writes = state
        .storage
        .update_by_query(index, collection, query, changes, options)
        .await
        .map_err(storage_error)?;
    let mut updated = 0;
    for write in writes.iter().flatten() {
        let action = DocumentAction::Update {
            updated_fields: updated_fields.clone(),
        };
        notifier.notify(action, write);
        updated += 1;
    }
    Ok(json!({"updated": updated}).into())
}
