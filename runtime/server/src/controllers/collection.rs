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

/// Builds the error of the specification actions, which exist in Kuzzle's API although Palisade
/// has no document validation yet.
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

    let legacy = MAPPING_KEYS
        .iter()
        .any(|key| body.get(*key).is_some_and(is_truthy));
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

/// JavaScript truthiness, which Kuzzle uses to detect a legacy body.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
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

/// Lists the collections of an index: `stored` ones from the document store, `realtime` ones
/// that have subscriptions on this node, or both (`all`), sorted by name. A collection that is
/// both appears once with each type, as in Kuzzle.
async fn list(state: &ServerState, request: &Request) -> ApiResult {
    let index = store_args::index(request)?;
    let kind = request.optional_string("type")?.unwrap_or("all");
    if !["all", "stored", "realtime"].contains(&kind) {
        return Err(ApiError::invalid_argument(
            "type",
            "\"all\", \"stored\" or \"realtime\"",
        ));
    }

    let mut collections = Vec::new();
    if kind != "stored" {
        let subscribed: Vec<String> = state.realtime.read(|realtime| {
            realtime
                .list()
                .get(index)
                .map(|collections| collections.keys().cloned().collect())
                .unwrap_or_default()
        });
        collections.extend(subscribed.into_iter().map(|name| (name, "realtime")));
    }
    if kind != "realtime" {
        let stored = state
            .storage
            .list_collections(index)
            .await
            .map_err(storage_error)?;
        collections.extend(stored.into_iter().map(|name| (name, "stored")));
    }
    // A stable sort keeps the realtime entry before the stored one of the same name.
    collections.sort_by(|a, b| a.0.cmp(&b.0));
    let collections: Vec<Value> = collections
        .into_iter()
        .map(|(name, kind)| json!({"name": name, "type": kind}))
        .collect();

    let from = request.integer("from", 0)?;
    let size = request.integer("size", 0)?;
    Ok(paginate(collections, from, size, kind).into())
}

/// Pages a collection list as Kuzzle does: `from` is returned when `from` or `size` is set,
/// `size` when it is set, and a zero `size` means no limit.
fn paginate(collections: Vec<Value>, from: i64, size: i64, kind: &str) -> Value {
    if from == 0 && size == 0 {
        return json!({"collections": collections, "type": kind});
    }
    let start = usize::try_from(from).unwrap_or(0).min(collections.len());
    let end = match usize::try_from(size) {
        Ok(size) if size > 0 => start.saturating_add(size).min(collections.len()),
        _ => collections.len(),
    };
    let mut result = json!({"collections": collections[start..end], "type": kind, "from": from});
    if size != 0 {
        result["size"] = json!(size);
    }
    result
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
    fn list_pages_like_kuzzle() {
        let names: Vec<Value> = ["a", "b", "c"].iter().map(|n| json!({"name": n})).collect();
        let all = paginate(names.clone(), 0, 0, "all");
        assert!(all.get("from").is_none());
        assert_eq!(all["collections"].as_array().unwrap().len(), 3);
        let tail = paginate(names.clone(), 1, 0, "all");
        assert_eq!(tail["from"], 1);
        assert!(tail.get("size").is_none());
        assert_eq!(tail["collections"].as_array().unwrap().len(), 2);
        let head = paginate(names, 0, 1, "all");
        assert_eq!(head["from"], 0);
        assert_eq!(head["size"], 1);
        assert_eq!(head["collections"], json!([{"name": "a"}]));
    }

    #[test]
    fn mappings_and_settings_split() {
        let request = request_with_body(json!({"mappings": {"dynamic": "strict"}, "settings": {}}));
        let config = collection_config(&request).unwrap();
        assert_eq!(config.mappings.unwrap()["dynamic"], "strict");
        assert_eq!(config.settings.unwrap(), json!({}));
    }
}
