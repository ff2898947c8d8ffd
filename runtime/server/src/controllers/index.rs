//! The `index` controller: create, delete, list and measure indexes.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, Request, Response};
use serde_json::{Map, Value, json};

use super::Controller;
use super::store_args::{self, storage_error};
use crate::errors;
use crate::state::ServerState;

/// Index management actions.
#[derive(Debug)]
pub struct IndexController;

#[async_trait]
impl Controller for IndexController {
    fn name(&self) -> &'static str {
        "index"
    }

    fn actions(&self) -> &'static [&'static str] {
        &["create", "delete", "exists", "list", "mDelete", "stats"]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "create" => create(state, request).await,
            "delete" => delete(state, request).await,
            "exists" => exists(state, request).await,
            "list" => list(state, request).await,
            "mDelete" => delete_many(state, request).await,
            "stats" => stats(state).await,
            _ => Err(ApiError::action_not_found(&request.controller, action)),
        }
    }
}

async fn create(state: &ServerState, request: &Request) -> ApiResult {
    let index = store_args::index(request)?;
    state
        .storage
        .create_index(index)
        .await
        .map_err(storage_error)?;
    Ok(Response::empty())
}

async fn delete(state: &ServerState, request: &Request) -> ApiResult {
    let index = store_args::index(request)?;
    state
        .storage
        .delete_index(index)
        .await
        .map_err(storage_error)?;
    Ok(json!({"acknowledged": true}).into())
}

async fn exists(state: &ServerState, request: &Request) -> ApiResult {
    let index = store_args::index(request)?;
    let exists = state
        .storage
        .index_exists(index)
        .await
        .map_err(storage_error)?;
    Ok(json!(exists).into())
}

async fn list(state: &ServerState, request: &Request) -> ApiResult {
    let indexes = state.storage.list_indexes().await.map_err(storage_error)?;
    if !request.boolean("countCollection")? {
        return Ok(json!({"indexes": indexes}).into());
    }

    let mut counts = Map::new();
    for index in &indexes {
        let collections = state
            .storage
            .list_collections(index)
            .await
            .map_err(storage_error)?;
        counts.insert(index.clone(), json!(collections.len()));
    }
    Ok(json!({"indexes": indexes, "collections": counts}).into())
}

/// Deletes the listed public indexes that the user may delete (`index:delete` on that index) and
/// returns their names. As in Kuzzle, the other names are skipped without an error, and a
/// missing list deletes nothing.
async fn delete_many(state: &ServerState, request: &Request) -> ApiResult {
    let requested = match &request.body {
        None => Vec::new(),
        Some(Value::Object(body)) if body.get("indexes").is_none_or(Value::is_null) => Vec::new(),
        Some(Value::Object(body)) => store_args::body_array_field(body, "indexes")?.clone(),
        Some(_) => return Err(ApiError::invalid_type("body", "object")),
    };

    let public = state.storage.list_indexes().await.map_err(storage_error)?;
    let rights = user_rights(state, request).await?;
    let mut deleted = Vec::new();
    for index in public {
        if !requested.contains(&Value::String(index.clone())) {
            continue;
        }
        if !rights.is_allowed("index", "delete", Some(&index), None) {
            continue;
        }
        match state.storage.delete_index(&index).await {
            Ok(()) => deleted.push(index),
            // Deleted by another request since the list was read.
            Err(palisade_storage::StorageError::UnknownIndex { .. }) => {}
            Err(error) => return Err(storage_error(error)),
        }
    }
    Ok(json!({"deleted": deleted}).into())
}

/// Returns the rights of the user who sent the request.
async fn user_rights(
    state: &ServerState,
    request: &Request,
) -> Result<palisade_security::UserRights, ApiError> {
    let security = &state.security.security;
    let user = security
        .get_user(store_args::user_id(request))
        .await
        .map_err(errors::from_security)?;
    security
        .user_rights(user)
        .await
        .map_err(errors::from_security)
}

async fn stats(state: &ServerState) -> ApiResult {
    let stats = state.storage.stats().await.map_err(storage_error)?;
    let indexes: Vec<Value> = stats
        .indexes
        .iter()
        .map(|index| {
            let collections: Vec<Value> = index
                .collections
                .iter()
                .map(|c| json!({"name": c.name, "documentCount": c.document_count, "size": c.size}))
                .collect();
            json!({"name": index.name, "size": index.size, "collections": collections})
        })
        .collect();
    Ok(json!({"indexes": indexes, "size": stats.size}).into())
}
