//! The `security` actions on roles and profiles.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use palisade_security::{Collection, KnownActions, SecurityError, User, UserRights};
use palisade_storage::SearchRequest;
use serde_json::{Map, Value, json};

use super::api_keys::optional_count;
use super::users::{ids_of, scroll_arg, search_result};
use crate::errors::{from_security, from_storage};
use crate::security::SECURITY_INDEX;
use crate::state::ServerState;

/// The kind of security document an action works on.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Roles: `{controllers}`.
    Role,
    /// Profiles: `{policies, rateLimit}`.
    Profile,
}

/// Lists every controller action the server implements, the actions of the plugins loaded right
/// now included, for role validation.
pub fn known_actions(state: &ServerState) -> KnownActions {
    let plugins = state.plugins.snapshot();
    let native = state.controllers.iter().flat_map(|controller| {
        controller
            .actions()
            .iter()
            .map(move |action| (controller.name(), *action))
    });
    let added = plugins.plugins.values().flat_map(|plugin| {
        plugin.manifest.controllers.iter().flat_map(|controller| {
            controller
                .actions
                .iter()
                .map(move |action| (controller.name.as_str(), action.name.as_str()))
        })
    });
    let pairs: Vec<(&str, &str)> = native.chain(added).collect();
    KnownActions::new(pairs)
}

/// Fetches the stored `_source` of a role or profile.
async fn source_of(state: &ServerState, kind: Kind, id: &str) -> Result<Value, ApiError> {
    let security = &state.security.security;
    let source = match kind {
        Kind::Role => security.get_role(id).await.map(|role| role.to_json()),
        Kind::Profile => security
            .get_profile(id)
            .await
            .map(|profile| profile.to_json()),
    };
    source.map_err(from_security)
}

async fn exists(state: &ServerState, kind: Kind, id: &str) -> Result<bool, ApiError> {
    match source_of(state, kind, id).await {
        Ok(_) => Ok(true),
        Err(error) if error.status() == 404 => Ok(false),
        Err(error) => Err(error),
    }
}

/// Validates and stores a role or profile; returns `{_id, _source}`.
async fn store(state: &ServerState, kind: Kind, id: &str, body: &Value, force: bool) -> ApiResult {
    let security = &state.security.security;
    let source = match kind {
        Kind::Role => security
            .create_or_replace_role(id, body, force, &known_actions(state))
            .await
            .map(|role| role.to_json()),
        Kind::Profile => security
            .create_or_replace_profile(id, body)
            .await
            .map(|profile| profile.to_json()),
    };
    let source = source.map_err(from_security)?;
    Ok(json!({"_id": id, "_source": source}).into())
}

/// `createRole`, `createProfile`: fails when the id exists.
pub async fn create(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let id = request.string("_id")?;
    if exists(state, kind, id).await? {
        return Err(ApiError::new(
            ErrorId::ServicesStorageDocumentAlreadyExists,
            format!("`{id}` already exists: use createOrReplace or update instead."),
        ));
    }
    let body = Value::Object(request.body_object()?.clone());
    store(state, kind, id, &body, request.boolean("force")?).await
}

/// `createOrReplaceRole`, `createOrReplaceProfile`.
pub async fn create_or_replace(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let id = request.string("_id")?;
    let body = Value::Object(request.body_object()?.clone());
    store(state, kind, id, &body, request.boolean("force")?).await
}

/// `updateRole`, `updateProfile`: the body's top-level keys replace the stored ones, and for a
/// role each controller of `body.controllers` replaces that controller's rights.
pub async fn update(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let id = request.string("_id")?;
    let mut source = source_of(state, kind, id).await?;
    let changes = request.body_object()?;
    if let Some(object) = source.as_object_mut() {
        for (key, value) in changes {
            match (object.get_mut(key), value) {
                (Some(Value::Object(current)), Value::Object(new)) if key == "controllers" => {
                    current.extend(new.clone());
                }
                _ => {
                    object.insert(key.clone(), value.clone());
                }
            }
        }
    }
    store(state, kind, id, &source, request.boolean("force")?).await
}

/// `getRole`, `getProfile`.
pub async fn get(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let id = request.string("_id")?;
    let source = source_of(state, kind, id).await?;
    Ok(json!({"_id": id, "_source": source}).into())
}

async fn delete_one(state: &ServerState, kind: Kind, id: &str) -> Result<(), ApiError> {
    let security = &state.security.security;
    match kind {
        Kind::Role => security.delete_role(id).await,
        Kind::Profile => security.delete_profile(id).await,
    }
    .map_err(from_security)
}

/// `deleteRole`, `deleteProfile`.
pub async fn delete(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let id = request.string("_id")?;
    delete_one(state, kind, id).await?;
    Ok(json!({"_id": id}).into())
}

/// `mDeleteRoles`, `mDeleteProfiles`: returns the deleted ids.
pub async fn m_delete(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let mut deleted = Vec::new();
    for id in ids_of(request)? {
        match delete_one(state, kind, &id).await {
            Ok(()) => deleted.push(id),
            Err(error) => tracing::debug!(id = %id, error = %error.message(), "not deleted"),
        }
    }
    Ok(json!(deleted).into())
}

/// `mGetRoles`, `mGetProfiles`: returns `{hits, total}` with the documents found.
pub async fn m_get(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let mut hits = Vec::new();
    for id in ids_of(request)? {
        match source_of(state, kind, &id).await {
            Ok(source) => hits.push(json!({"_id": id, "_source": source})),
            Err(error) if error.status() == 404 => {}
            Err(error) => return Err(error),
        }
    }
    let total = hits.len();
    Ok(json!({"hits": hits, "total": total}).into())
}

/// Returns whether a stored role grants one of the controllers of `body.controllers`; an absent
/// list matches every role.
fn role_matches(source: &Value, body: &Map<String, Value>) -> bool {
    let Some(wanted) = body.get("controllers").and_then(Value::as_array) else {
        return true;
    };
    let Some(own) = source["controllers"].as_object() else {
        return false;
    };
    wanted
        .iter()
        .filter_map(Value::as_str)
        .any(|controller| own.contains_key(controller))
}

/// `searchRoles` (`body.controllers`) and `searchProfiles` (`body.roles`), with `from` and
/// `size`. Returns `{hits, total}`.
pub async fn search(state: &ServerState, kind: Kind, request: &Request) -> ApiResult {
    let body = request
        .body
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match kind {
        Kind::Role => search_roles(state, &body, request).await,
        Kind::Profile => search_profiles(state, &body, request).await,
    }
}

/// Filters roles in memory, sorted by id, because a search engine cannot match on the keys of
/// the `controllers` object.
async fn search_roles(
    state: &ServerState,
    body: &Map<String, Value>,
    request: &Request,
) -> ApiResult {
    let stored = state
        .security
        .security
        .store()
        .list(Collection::Roles)
        .await
        .map_err(from_security)?;
    let mut found: Vec<_> = stored
        .into_iter()
        .filter(|document| role_matches(&document.source, body))
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let total = found.len();
    let from = optional_count(request, "from")?.unwrap_or(0);
    let size = optional_count(request, "size")?.unwrap_or(10);
    let hits: Vec<Value> = found
        .into_iter()
        .skip(from)
        .take(size)
        .map(|document| json!({"_id": document.id, "_source": document.source}))
        .collect();
    Ok(json!({"hits": hits, "total": total}).into())
}

/// Searches profiles by `policies.roleId`, with `scroll` for `scrollProfiles`.
async fn search_profiles(
    state: &ServerState,
    body: &Map<String, Value>,
    request: &Request,
) -> ApiResult {
    let query = match body.get("roles") {
        Some(Value::Array(roles)) => json!({"terms": {"policies.roleId": roles}}),
        Some(_) => return Err(ApiError::invalid_type("body.roles", "array")),
        None => json!({"match_all": {}}),
    };
    let search = SearchRequest {
        body: json!({"query": query}),
        from: optional_count(request, "from")?,
        size: optional_count(request, "size")?,
        scroll: scroll_arg(request)?,
    };
    let found = state
        .storage
        .search(SECURITY_INDEX, Collection::Profiles.name(), search)
        .await
        .map_err(from_storage)?;
    Ok(search_result(found).into())
}

/// `getProfileRights`: the rights a user with only this profile would have.
pub async fn get_profile_rights(state: &ServerState, request: &Request) -> ApiResult {
    let id = request.string("_id")?;
    let security = &state.security.security;
    let profile = security.get_profile(id).await.map_err(from_security)?;
    let mut roles = HashMap::new();
    for role_id in profile.role_ids() {
        match security.get_role(role_id).await {
            Ok(role) => {
                roles.insert(role_id.to_owned(), role);
            }
            Err(SecurityError::RoleNotFound { .. }) => {}
            Err(error) => return Err(from_security(error)),
        }
    }
    let holder =
        User::from_source("profile-rights", &json!({"profileIds": [id]})).map_err(from_security)?;
    let rights = UserRights::new(Arc::new(holder), vec![(id.to_owned(), profile)], roles);
    Ok(rights.list_result().into())
}
