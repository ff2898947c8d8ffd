//! The `collection` controller: create, configure, list, empty and delete collections.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use palisade_storage::CollectionConfig;
use serde_json::{Map, Value, json};

use super::Controller;
use super::store_args::{self, storage_error};
use crate::state::ServerState;

/// Top-level keys of a mapping, which mark a legacy body that is a bare mapping.
const MAPPING_KEYS: [&str; 3] = ["dynamic", "_meta", "properties"];

/// Actions on document validation specifications, which Palisade does not implement yet.
const SPECIFICATION_ACTIONS: [&str; 6] = [
    "deleteSpecifications",
    "getSpecifications",
    "scrollSpecifications",
    "searchSpecifications",
    "updateSpecifications",
    "validateSpecifications",
];

/// Collection management actions.
#[derive(Debug)]
pub struct CollectionController;

#[async_trait]
impl Controller for CollectionController {
    fn name(&self) -> &'static str {
        "collection"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "create",
            "delete",
            "deleteSpecifications",
            "exists",
            "getMapping",
            "getSettings",
            "getSpecifications",
            "list",
            "refresh",
            "scrollSpecifications",
            "searchSpecifications",
            "truncate",
            "update",
            "updateMapping",
            "updateSpecifications",
            "validateSpecifications",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "create" => create(state, request).await,
            "delete" => delete(state, request).await,
            "exists" => exists(state, request).await,
            "getMapping" => get_mapping(state, request).await,
            "getSettings" => get_settings(state, request).await,
            "list" => list(state, request).await,
            "refresh" => refresh(state, request).await,
            "truncate" => truncate(state, request).await,
            "update" => update(state, request).await,
            "updateMapping" => update_mapping(state, request).await,
            _ if SPECIFICATION_ACTIONS.contains(&action) => Err(not_implemented(action)),
            _ => Err(ApiError::action_not_found(&request.controller, action)),
        }
    }
}

/// The error of the specification actions: the action exists in Kuzzle's API but Palisade has
/// no document validation yet.
fn not_implemented(action: &str) -> ApiError {
    ApiError::new(
        ErrorId::ApiProcessActionNotFound,
        format!(
            "API action \"collection\":\"{action}\" is not implemented yet: Palisade does not \
             support document validation specifications."
        ),
    )
    .with_props(["collection", action])
}

/// Reads a create or update body: `{mappings, settings}`, or a bare mapping (the legacy form).
fn collection_config(request: &Request) -> Result<CollectionConfig, ApiError> {
    let Some(body) = &request.body else {
        return Ok(CollectionConfig::default());
    };
    let Value::Object(body) = body else {
        return Err(ApiError::invalid_type("body", "object"));
    };

    let legacy = !body.contains_key("mappings")
        && !body.contains_key("settings")
        && MAPPING_KEYS.iter().any(|key| body.contains_key(*key));
    if legacy {
        return Ok(CollectionConfig {
            mappings: Some(Value::Object(body.clone())),
            settings: None,
        });
    }
    Ok(CollectionConfig {
        mappings: object_field(body, "mappings")?,
        settings: object_field(body, "settings")?,
    })
}

fn object_field(body: &Map<String, Value>, name: &str) -> Result<Option<Value>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value.clone())),
        Some(_) => Err(ApiError::invalid_type(&format!("body.{name}"), "object")),
    }
}

async fn create(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    let config = collection_config(request)?;
    state
        .storage
        .create_collection(index, collection, config)
        .await
        .map_err(storage_error)?;
    Ok(json!({"acknowledged": true}).into())
}

async fn update(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    let config = collection_config(request)?;
    state
        .storage
        .update_collection(index, collection, config)
        .await
        .map_err(storage_error)?;
    Ok(Value::Null.into())
}

async fn update_mapping(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    let body = request.body_object()?;
    let mapping = state
        .storage
        .update_mapping(index, collection, Value::Object(body.clone()))
        .await
        .map_err(storage_error)?;
    Ok(mapping.into())
}

async fn get_mapping(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    let include_kuzzle_meta = request.boolean("includeKuzzleMeta")?;
    let mapping = state
        .storage
        .get_mapping(index, collection, include_kuzzle_meta)
        .await
        .map_err(storage_error)?;
    Ok(mapping.into())
}

async fn get_settings(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    let settings = state
        .storage
        .get_settings(index, collection)
        .await
        .map_err(storage_error)?;
    Ok(settings.into())
}

async fn exists(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    let exists = state
        .storage
        .collection_exists(index, collection)
        .await
        .map_err(storage_error)?;
    Ok(json!(exists).into())
}

/// Lists stored collections. Palisade has no realtime-only collections, so `type=realtime`
/// returns an empty list.
async fn list(state: &ServerState, request: &Request) -> ApiResult {
    let index = store_args::index(request)?;
    let kind = request.optional_string("type")?.unwrap_or("all");
    if !["all", "stored", "realtime"].contains(&kind) {
        return Err(ApiError::invalid_argument(
            "type",
            "\"all\", \"stored\" or \"realtime\"",
        ));
    }
    let names = state
        .storage
        .list_collections(index)
        .await
        .map_err(storage_error)?;

    let stored: Vec<Value> = if kind == "realtime" {
        Vec::new()
    } else {
        names
            .iter()
            .map(|name| json!({"name": name, "type": "stored"}))
            .collect()
    };

    let from = request.integer("from", 0)?;
    let size = request.integer("size", 0)?;
    let start = usize::try_from(from).unwrap_or(0).min(stored.len());
    let end = match usize::try_from(size) {
        Ok(size) if size > 0 => (start + size).min(stored.len()),
        _ => stored.len(),
    };

    let mut result = json!({"collections": stored[start..end], "type": kind});
    if request.args.contains_key("from") {
        result["from"] = json!(from);
    }
    if request.args.contains_key("size") {
        result["size"] = json!(size);
    }
    Ok(result.into())
}

async fn truncate(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    state
        .storage
        .truncate_collection(index, collection)
        .await
        .map_err(storage_error)?;
    Ok(json!({"acknowledged": true}).into())
}

async fn refresh(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    state
        .storage
        .refresh_collection(index, collection)
        .await
        .map_err(storage_error)?;
    Ok(Value::Null.into())
}

async fn delete(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = store_args::target(request)?;
    state
        .storage
        .delete_collection(index, collection)
        .await
        .map_err(storage_error)?;
    Ok(Value::Null.into())
}

#[cfg(test)]
mod tests {
    use palisade_api::{Protocol, RequestContext};

    use super::*;

    fn request_with_body(body: Value) -> Request {
        let mut request = Request::new(
            "collection",
            "create",
            RequestContext::json(Protocol::WebSocket, "c"),
        );
        request.body = Some(body);
        request
    }

    #[test]
    fn bare_mapping_is_legacy_body() {
        let request = request_with_body(json!({"properties": {"a": {"type": "keyword"}}}));
        let config = collection_config(&request).unwrap();
        assert_eq!(
            config.mappings.unwrap()["properties"]["a"]["type"],
            "keyword"
        );
        assert!(config.settings.is_none());
    }

    #[test]
    fn mappings_and_settings_split() {
        let request = request_with_body(json!({"mappings": {"dynamic": "strict"}, "settings": {}}));
        let config = collection_config(&request).unwrap();
        assert_eq!(config.mappings.unwrap()["dynamic"], "strict");
        assert_eq!(config.settings.unwrap(), json!({}));
    }
}
