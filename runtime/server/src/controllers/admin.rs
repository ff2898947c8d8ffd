//! The `admin` controller: resets, cache maintenance, and loading mappings, fixtures and
//! securities in one request.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, Request};
use palisade_security::{Collection, Invalidation, User};
use palisade_storage::{BulkOperation, CollectionConfig, Refresh, WriteOptions};
use serde_json::{Map, Value, json};

use super::{Controller, credentials};
use crate::errors::{from_security, from_storage};
use crate::security::SECURITY_INDEX;
use crate::state::ServerState;

/// Administration actions.
#[derive(Debug)]
pub struct AdminController;

#[async_trait]
impl Controller for AdminController {
    fn name(&self) -> &'static str {
        "admin"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "dump",
            "loadFixtures",
            "loadMappings",
            "loadSecurities",
            "refreshIndexCache",
            "resetCache",
            "resetDatabase",
            "resetKuzzleData",
            "resetSecurity",
            "shutdown",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "dump" => super::admin_dump::dump(state, request).await,
            "loadFixtures" => load_fixtures(state, request).await,
            "loadMappings" => load_mappings(state, request).await,
            "loadSecurities" => load_securities(state, request).await,
            "refreshIndexCache" => Ok(acknowledge()),
            "resetCache" => reset_cache(state, request),
            "resetDatabase" => reset_database(state).await,
            "resetKuzzleData" => reset_kuzzle_data(state).await,
            "resetSecurity" => reset_security(state).await,
            "shutdown" => {
                // The funnel lets this request finish before the server stops.
                state.shutdown_requested.notify_one();
                Ok(acknowledge())
            }
            _ => Err(ApiError::action_not_found(self.name(), action)),
        }
    }
}

/// Kuzzle's admin result, spelled `acknowledge` (without a final d) as Kuzzle does.
fn acknowledge() -> palisade_api::Response {
    json!({"acknowledge": true}).into()
}

fn write_options(request: &Request) -> Result<WriteOptions, ApiError> {
    let refresh = match request.args.get("refresh") {
        Some(Value::String(value)) if value == "wait_for" => Refresh::WaitFor,
        _ => Refresh::NearRealTime,
    };
    Ok(WriteOptions {
        refresh,
        ..WriteOptions::default()
    })
}

/// `resetCache`: `database` is `internalCache` (the security cache) or `memoryStorage`, which
/// this server does not have, so it has nothing to clear.
fn reset_cache(state: &ServerState, request: &Request) -> ApiResult {
    match request.string("database")? {
        "internalCache" => {
            state
                .security
                .security
                .apply_invalidation(&Invalidation::All);
            state.security.tokens.forget_cached_tokens();
        }
        "memoryStorage" => {}
        _ => {
            return Err(ApiError::invalid_argument(
                "database",
                "internalCache or memoryStorage",
            ));
        }
    }
    Ok(acknowledge())
}

/// `resetDatabase`: deletes every public index. The internal security index stays.
async fn reset_database(state: &ServerState) -> ApiResult {
    let indexes = state.storage.list_indexes().await.map_err(from_storage)?;
    for index in indexes {
        state
            .storage
            .delete_index(&index)
            .await
            .map_err(from_storage)?;
    }
    tracing::warn!("database reset: every public index deleted");
    Ok(acknowledge())
}

/// `resetKuzzleData`: `resetDatabase` then `resetSecurity`, so the server is as on its first
/// start: no public index, the open default roles and profiles, no user, token or API key.
async fn reset_kuzzle_data(state: &ServerState) -> ApiResult {
    reset_database(state).await?;
    reset_security(state).await?;
    tracing::warn!("all data reset: public indexes and security");
    Ok(acknowledge())
}

/// `resetSecurity`: deletes every user, profile, role, credential, token and API key, then
/// writes the open default roles and profiles of a first start.
async fn reset_security(state: &ServerState) -> ApiResult {
    let collections = [
        Collection::Users,
        Collection::Profiles,
        Collection::Roles,
        Collection::Credentials,
        Collection::StrategyCredentials,
        Collection::Tokens,
        Collection::ApiKeys,
    ];
    for collection in collections {
        state
            .storage
            .truncate_collection(SECURITY_INDEX, collection.name())
            .await
            .map_err(from_storage)?;
    }
    state.security.tokens.forget_cached_tokens();
    let security = &state.security.security;
    security.apply_invalidation(&Invalidation::All);
    security.bootstrap().await.map_err(from_security)?;
    tracing::warn!("security reset: users, profiles and roles deleted");
    Ok(acknowledge())
}

fn object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::invalid_type(name, "object"))
}

/// `loadMappings`: `body = {index: {collection: {mappings}}}`; missing indexes are created.
async fn load_mappings(state: &ServerState, request: &Request) -> ApiResult {
    let storage = &state.storage;
    for (index, collections) in request.body_object()? {
        if !storage.index_exists(index).await.map_err(from_storage)? {
            storage.create_index(index).await.map_err(from_storage)?;
        }
        for (collection, mappings) in object(collections, index)? {
            let config = CollectionConfig {
                mappings: Some(mappings.clone()),
                settings: None,
            };
            storage
                .create_collection(index, collection, config)
                .await
                .map_err(from_storage)?;
        }
    }
    Ok(acknowledge())
}

/// Converts Elasticsearch bulk lines (`{create|index: {_id}}` then the document) into bulk
/// operations.
fn bulk_operations(lines: &[Value], name: &str) -> Result<Vec<BulkOperation>, ApiError> {
    let invalid =
        || ApiError::invalid_argument(name, "pairs of {create|index: {_id}} and a document");
    let mut operations = Vec::with_capacity(lines.len() / 2);
    for pair in lines.chunks(2) {
        let [action, source] = pair else {
            return Err(invalid());
        };
        let action = object(action, name)?;
        let id = |meta: &Value| meta.get("_id").and_then(Value::as_str).map(str::to_owned);
        let operation = match (action.get("create"), action.get("index")) {
            (Some(meta), _) => BulkOperation::Create {
                id: id(meta),
                source: source.clone(),
            },
            (None, Some(meta)) => match id(meta) {
                Some(id) => BulkOperation::CreateOrReplace {
                    id,
                    source: source.clone(),
                },
                None => BulkOperation::Create {
                    id: None,
                    source: source.clone(),
                },
            },
            (None, None) => return Err(invalid()),
        };
        operations.push(operation);
    }
    Ok(operations)
}

/// `loadFixtures`: `body = {index: {collection: [bulk lines]}}`. Fails on the first document
/// that cannot be written.
async fn load_fixtures(state: &ServerState, request: &Request) -> ApiResult {
    let options = write_options(request)?;
    for (index, collections) in request.body_object()? {
        for (collection, lines) in object(collections, index)? {
            let name = format!("{index}.{collection}");
            let lines = lines
                .as_array()
                .ok_or_else(|| ApiError::invalid_type(&name, "array"))?;
            let operations = bulk_operations(lines, &name)?;
            let results = state
                .storage
                .bulk(index, collection, operations, options)
                .await
                .map_err(from_storage)?;
            for result in results {
                result.map_err(from_storage)?;
            }
        }
    }
    Ok(acknowledge())
}

/// `loadSecurities`: `body = {roles, profiles, users}`, each `{id: body}`, written in that
/// order. `onExistingUsers` is `fail` (default), `skip` or `overwrite`; `force` accepts roles
/// naming unknown actions.
async fn load_securities(state: &ServerState, request: &Request) -> ApiResult {
    let body = request.body_object()?;
    let force = request.boolean("force")?;
    let on_existing = request
        .optional_string("onExistingUsers")?
        .unwrap_or("fail");
    if !matches!(on_existing, "fail" | "skip" | "overwrite") {
        return Err(ApiError::invalid_argument(
            "onExistingUsers",
            "fail, skip or overwrite",
        ));
    }
    let security = &state.security.security;
    let known = super::roles::known_actions(state);

    let section = |name: &str| body.get(name).map(|value| object(value, name)).transpose();
    for (id, role) in section("roles")?.into_iter().flatten() {
        security
            .create_or_replace_role(id, role, force, &known)
            .await
            .map_err(from_security)?;
    }
    for (id, profile) in section("profiles")?.into_iter().flatten() {
        security
            .create_or_replace_profile(id, profile)
            .await
            .map_err(from_security)?;
    }
    for (kuid, user) in section("users")?.into_iter().flatten() {
        load_user(state, kuid, object(user, kuid)?, on_existing).await?;
    }
    Ok(acknowledge())
}

async fn load_user(
    state: &ServerState,
    kuid: &str,
    body: &Map<String, Value>,
    on_existing: &str,
) -> Result<(), ApiError> {
    let security = &state.security.security;
    let exists = security.get_user(kuid).await.is_ok();
    if exists && on_existing == "skip" {
        return Ok(());
    }
    let content = body.get("content").cloned().unwrap_or_else(|| json!({}));
    let user = User::from_source(kuid, &content).map_err(from_security)?;
    if exists && on_existing == "overwrite" {
        security
            .create_or_replace_user(&user)
            .await
            .map_err(from_security)?;
        state
            .security
            .local
            .delete(kuid)
            .await
            .map_err(from_security)?;
    } else {
        security.create_user(&user).await.map_err(from_security)?;
    }
    if let Some(local) = body
        .get("credentials")
        .and_then(|credentials| credentials.get("local"))
    {
        credentials::create_local(state, kuid, local).await?;
    }
    Ok(())
}
