//! Query actions of the `document` controller: search, scroll, count, deleteByQuery and
//! updateByQuery.

use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use palisade_realtime::DocumentAction;
use palisade_storage::{SearchRequest, SearchResult};
use serde_json::{Map, Value, json};

use super::store_args::{self as args, Notifier, storage_error};
use crate::state::ServerState;

/// Returns the search body: the request body, or over HTTP GET the `searchBody` argument.
pub(super) fn search_body(request: &Request) -> Result<Map<String, Value>, ApiError> {
    match &request.body {
        Some(Value::Object(body)) => Ok(body.clone()),
        Some(_) => Err(ApiError::invalid_type("body", "object")),
        None => Ok(request.optional_object("searchBody")?.unwrap_or_default()),
    }
}

/// Translates `body.query` in place when `lang=koncorde`.
pub(super) fn translate_body_query(
    request: &Request,
    body: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(query) = body.remove("query") {
        body.insert("query".into(), args::translate_query(request, query)?);
    } else {
        args::translate_query(request, json!({}))?;
    }
    Ok(())
}

/// Reads `from` or `size` from the arguments, else from the body.
fn page_bound(
    request: &Request,
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    if request.args.get(name).is_some_and(|v| !v.is_null()) {
        return request.integer(name, 0).map(Some);
    }
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid_type(&format!("body.{name}"), "integer")),
    }
}

pub(super) fn non_negative(value: Option<i64>, name: &str) -> Result<Option<usize>, ApiError> {
    value
        .map(|v| {
            usize::try_from(v).map_err(|_| ApiError::invalid_argument(name, "an integer >= 0"))
        })
        .transpose()
}

/// Returns the single index and collection of `targets`, the multi-index form of a search. The
/// store searches one collection at a time, so several targets are rejected.
fn single_target(request: &Request) -> Result<Option<(String, String)>, ApiError> {
    let Some(targets) = request.optional_array("targets")? else {
        return Ok(None);
    };
    let [target] = targets.as_slice() else {
        return Err(ApiError::new(
            ErrorId::ServicesStorageNoMultiIndexes,
            "Searching several indexes at once is not supported by this storage engine: send \
             one target, or one search per index.",
        ));
    };
    let index = target.get("index").and_then(Value::as_str);
    let collections = target.get("collections").and_then(Value::as_array);
    let (Some(index), Some(collections)) = (index, collections) else {
        return Err(ApiError::new(
            ErrorId::ServicesStorageInvalidTargetFormat,
            "Invalid \"targets\": expected [{\"index\": \"<index>\", \"collections\": [...]}].",
        ));
    };
    let [Value::String(collection)] = collections.as_slice() else {
        return Err(ApiError::new(
            ErrorId::ServicesStorageNoMultiCollections,
            "Searching several collections at once is not supported by this storage engine: \
             send one collection, or one search per collection.",
        ));
    };
    check_single_name(index)?;
    check_single_name(collection)?;
    args::check_public_index(index)?;
    Ok(Some((index.to_owned(), collection.clone())))
}

/// Returns the searched index and collection: the `index` and `collection` arguments, or one
/// target of `targets`.
fn search_target(request: &Request) -> Result<(String, String), ApiError> {
    if let Some(target) = single_target(request)? {
        return Ok(target);
    }
    let index = request.optional_string("index")?;
    let collection = request.optional_string("collection")?;
    let (index, collection) = match (index, collection) {
        (None, None) => return Err(ApiError::missing_argument("index, collection or targets")),
        (None, Some(_)) => return Err(ApiError::missing_argument("index")),
        (Some(_), None) => return Err(ApiError::missing_argument("collection")),
        (Some(index), Some(collection)) => (index, collection),
    };
    check_single_name(index)?;
    check_single_name(collection)?;
    args::check_public_index(index)?;
    Ok((index.to_owned(), collection.to_owned()))
}

/// Rejects the Elasticsearch multi-target syntax (`a,b`, `a*`, `+a`, `_all`) in a name, which
/// would reach indexes or collections that were not named.
fn check_single_name(name: &str) -> Result<(), ApiError> {
    if name == "_all" || name.contains([',', '*', '+']) {
        return Err(ApiError::new(
            ErrorId::ServicesStorageInvalidMultiIndexCollectionUsage,
            format!(
                "\"{name}\" names several indexes or collections: use \"targets\" to search \
                 more than one collection."
            ),
        )
        .with_props([name]));
    }
    Ok(())
}

pub(super) async fn search(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = search_target(request)?;
    let mut body = search_body(request)?;
    translate_body_query(request, &mut body)?;
    let from = page_bound(request, &body, "from")?;
    let size = page_bound(request, &body, "size")?;

    // Kuzzle checks `size - from` against the fetch limit, not `size`.
    args::check_fetch_count(state, size.unwrap_or(10) - from.unwrap_or(0))?;
    let search = SearchRequest {
        body: Value::Object(body),
        from: non_negative(from, "from")?,
        size: non_negative(size, "size")?,
        scroll: args::scroll_ttl(request)?,
    };

    let result = state
        .storage
        .search(&index, &collection, search)
        .await
        .map_err(storage_error)?;
    Ok(search_result(result).into())
}

/// Formats a page of results as Kuzzle does:
/// `{hits: [{_id, _score, _source, index, collection, highlight?}], total, aggregations?,
/// scrollId?, remaining?}`.
fn search_result(result: SearchResult) -> Value {
    let hits: Vec<Value> = result
        .hits
        .into_iter()
        .map(|hit| {
            let mut object = json!({
                "_id": hit.id,
                "_score": hit.score,
                "_source": hit.source.unwrap_or(Value::Null),
                "index": hit.index,
                "collection": hit.collection,
            });
            if let Some(highlight) = hit.highlight {
                object["highlight"] = highlight;
            }
            object
        })
        .collect();

    let mut value = json!({"hits": hits, "total": result.total});
    if let Some(aggregations) = result.aggregations {
        value["aggregations"] = aggregations;
    }
    if let Some(scroll_id) = result.scroll_id {
        value["scrollId"] = json!(scroll_id);
    }
    if let Some(remaining) = result.remaining {
        value["remaining"] = json!(remaining);
    }
    value
}

pub(super) async fn scroll(state: &ServerState, request: &Request) -> ApiResult {
    let scroll_id = request.string("scrollId")?;
    let ttl = args::scroll_ttl(request)?;
    let result = state
        .storage
        .scroll(scroll_id, ttl)
        .await
        .map_err(storage_error)?;
    Ok(search_result(result).into())
}

pub(super) async fn count(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let body = search_body(request)?;
    let query = match body.get("query") {
        None | Some(Value::Null) => {
            // Translating an empty filter still rejects an unknown `lang`.
            args::translate_query(request, json!({}))?;
            json!({"match_all": {}})
        }
        Some(query) => args::translate_query(request, query.clone())?,
    };
    let count = state
        .storage
        .count(index, collection, query)
        .await
        .map_err(storage_error)?;
    Ok(json!({"count": count}).into())
}

/// Rejects a by-query write that matches more documents than `limits.documentsWriteCount`, as
/// Kuzzle does before writing anything.
async fn check_matches(
    state: &ServerState,
    index: &str,
    collection: &str,
    query: &Value,
) -> Result<(), ApiError> {
    let matches = state
        .storage
        .count(index, collection, query.clone())
        .await
        .map_err(storage_error)?;
    args::check_write_count(state, usize::try_from(matches).unwrap_or(usize::MAX))
}

pub(super) async fn delete_by_query(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let query = args::required_query(request)?;
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    check_matches(state, index, collection, &query).await?;

    let writes = state
        .storage
        .delete_by_query(index, collection, query, options)
        .await
        .map_err(storage_error)?;
    let mut documents = Vec::with_capacity(writes.len());
    let mut ids = Vec::with_capacity(writes.len());
    for write in &writes {
        notifier.notify(DocumentAction::Delete, write);
        let mut document = json!({"_id": write.id});
        if full_source {
            document["_source"] = write.old_source.clone().unwrap_or(Value::Null);
        }
        documents.push(document);
        ids.push(json!(write.id));
    }
    Ok(json!({"documents": documents, "ids": ids}).into())
}

pub(super) async fn update_by_query(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let query = args::required_query(request)?;
    let body = request.body_object()?;
    let changes = Value::Object(args::body_object_field(body, "changes")?.clone());
    let info = args::updated_info(args::user_id(request), args::now_ms());
    let changes = args::with_info(changes, info, "body.changes")?;
    let updated_fields = args::updated_fields(&changes);
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    check_matches(state, index, collection, &query).await?;

    let writes = state
        .storage
        .update_by_query(index, collection, query, changes, options)
        .await
        .map_err(storage_error)?;
    let mut successes = Vec::with_capacity(writes.len());
    let mut errors = Vec::new();
    for write in writes {
        let write = match write {
            Ok(write) => write,
            Err(error) => {
                let error = storage_error(error);
                errors.push(json!({"reason": error.message(), "status": error.status()}));
                continue;
            }
        };
        let action = DocumentAction::Update {
            updated_fields: updated_fields.clone(),
        };
        notifier.notify(action, &write);
        let mut success = json!({"_id": write.id, "_version": write.version, "status": 200});
        if full_source {
            success["_source"] = write.source.unwrap_or(Value::Null);
        }
        successes.push(success);
    }
    Ok(json!({"successes": successes, "errors": errors}).into())
}
