//! API keys of a user, shared by the `auth` actions on the current user and the `security`
//! actions on any user.

use palisade_api::{ApiError, ApiResult, Request};
use palisade_storage::SearchRequest;
use serde_json::{Value, json};

use crate::errors::{from_security, from_storage};
use crate::security::{SECURITY_INDEX, expires_in_arg};
use crate::state::ServerState;

/// Creates an API key for `kuid`: `_id` (optional), `expiresIn` (default: no expiry) and
/// `body.description` (required). The result is the only place the key's token is shown.
///
/// # Errors
///
/// `missing_argument` for `body.description`, `services.storage.document_already_exists` for a
/// taken `_id`, `security.token.ttl_exceeded` above `security.apiKey.maxTTL`.
pub async fn create(state: &ServerState, kuid: &str, request: &Request) -> ApiResult {
    let body = request.body_object()?;
    let description = match body.get("description") {
        Some(Value::String(description)) => description.as_str(),
        Some(_) => return Err(ApiError::invalid_type("body.description", "string")),
        None => return Err(ApiError::missing_argument("body.description")),
    };
    let expires_in = expires_in_arg(request)?;
    let id = request.optional_string("_id")?;
    let api_key = state
        .security
        .tokens
        .create_api_key(kuid, expires_in, description, id)
        .await
        .map_err(from_security)?;
    Ok(api_key.to_json().into())
}

/// Searches the API keys of `kuid` with `body.query` (Koncorde with `lang=koncorde`), `from`
/// and `size`. Returns
/// `{hits: [{_id, _source}], total}`, without tokens.
///
/// # Errors
///
/// The storage error for a malformed query.
pub async fn search(state: &ServerState, kuid: &str, request: &Request) -> ApiResult {
    let mut query = request
        .body
        .as_ref()
        .and_then(|body| body.get("query"))
        .cloned()
        .unwrap_or_else(|| json!({"match_all": {}}));
    if request.optional_string("lang")? == Some("koncorde") {
        query = palisade_storage::query::koncorde::translate(&query).map_err(from_storage)?;
    }
    let search = SearchRequest {
        body: json!({"query": {"bool": {"filter": [{"term": {"userId": kuid}}], "must": [query]}}}),
        from: optional_count(request, "from")?,
        size: optional_count(request, "size")?,
        scroll: None,
    };
    let found = state
        .storage
        .search(SECURITY_INDEX, "api-keys", search)
        .await
        .map_err(from_storage)?;
    let hits: Vec<Value> = found
        .hits
        .into_iter()
        .map(|hit| json!({"_id": hit.id, "_source": hit.source}))
        .collect();
    Ok(json!({"hits": hits, "total": found.total}).into())
}

/// Deletes the API key `_id` of `kuid`. Returns `{_id}`.
///
/// # Errors
///
/// `services.storage.not_found` when `kuid` has no such key.
pub async fn delete(state: &ServerState, kuid: &str, request: &Request) -> ApiResult {
    let id = request.string("_id")?;
    state
        .security
        .tokens
        .delete_api_key(kuid, id)
        .await
        .map_err(from_security)?;
    Ok(json!({"_id": id}).into())
}

/// Reads a non-negative integer argument such as `from` or `size`.
///
/// # Errors
///
/// `invalid_type` for a value that is not a non-negative integer.
pub fn optional_count(request: &Request, name: &str) -> Result<Option<usize>, ApiError> {
    if request.args.get(name).is_none_or(Value::is_null) {
        return Ok(None);
    }
    let value = request.integer(name, 0)?;
    usize::try_from(value)
        .map(Some)
        .map_err(|_| ApiError::invalid_type(name, "non-negative integer"))
}
