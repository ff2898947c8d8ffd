//! The `security` controller: users, roles, profiles, rights, credentials and API keys of any
//! user, and the first administrator.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, Request};
use palisade_security::Collection;
use serde_json::{Value, json};

use super::roles::{self, Kind};
use super::{Controller, api_keys, credentials, users};
use crate::errors::{from_security, from_storage};
use crate::security::SECURITY_INDEX;
use crate::state::ServerState;

/// Security administration actions.
#[derive(Debug)]
pub struct SecurityController;

#[async_trait]
impl Controller for SecurityController {
    fn name(&self) -> &'static str {
        "security"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "checkRights",
            "createApiKey",
            "createCredentials",
            "createFirstAdmin",
            "createOrReplaceProfile",
            "createOrReplaceRole",
            "createProfile",
            "createRestrictedUser",
            "createRole",
            "createUser",
            "deleteApiKey",
            "deleteCredentials",
            "deleteProfile",
            "deleteRole",
            "deleteUser",
            "getAllCredentialFields",
            "getCredentialFields",
            "getCredentials",
            "getCredentialsById",
            "getProfile",
            "getProfileMapping",
            "getProfileRights",
            "getRole",
            "getRoleMapping",
            "getUser",
            "getUserMapping",
            "getUserRights",
            "getUserStrategies",
            "hasCredentials",
            "mDeleteProfiles",
            "mDeleteRoles",
            "mDeleteUsers",
            "mGetProfiles",
            "mGetRoles",
            "mGetUsers",
            "refresh",
            "replaceUser",
            "restrictDefaultRights",
            "revokeTokens",
            "scrollProfiles",
            "scrollUsers",
            "searchApiKeys",
            "searchProfiles",
            "searchRoles",
            "searchUsers",
            "searchUsersByCredentials",
            "updateCredentials",
            "updateProfile",
            "updateProfileMapping",
            "updateRole",
            "updateRoleMapping",
            "updateUser",
            "updateUserMapping",
            "upsertUser",
            "validateCredentials",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        if let Some(outcome) = handle_user_action(state, action, request).await {
            return outcome;
        }
        if let Some(outcome) = handle_role_action(state, action, request).await {
            return outcome;
        }
        if let Some(outcome) = handle_credentials_action(state, action, request).await {
            return outcome;
        }
        match action {
            "createApiKey" => {
                let kuid = request.string("userId")?;
                users::require_user(state, kuid).await?;
                api_keys::create(state, kuid, request).await
            }
            "deleteApiKey" => api_keys::delete(state, request.string("userId")?, request).await,
            "searchApiKeys" => api_keys::search(state, request.string("userId")?, request).await,
            "getProfileMapping" => get_mapping(state, "profiles").await,
            "getRoleMapping" => get_mapping(state, "roles").await,
            "getUserMapping" => get_mapping(state, "users").await,
            "updateProfileMapping" => update_mapping(state, "profiles", request).await,
            "updateRoleMapping" => update_mapping(state, "roles", request).await,
            "updateUserMapping" => update_mapping(state, "users", request).await,
            "scrollProfiles" => users::scroll(state, request).await,
            "refresh" => refresh(state, request).await,
            "restrictDefaultRights" => {
                state
                    .security
                    .security
                    .restrict_default_rights()
                    .await
                    .map_err(from_security)?;
                Ok(json!({"acknowledged": true}).into())
            }
            _ => Err(ApiError::action_not_found(self.name(), action)),
        }
    }
}

async fn handle_user_action(
    state: &ServerState,
    action: &str,
    request: &Request,
) -> Option<ApiResult> {
    let outcome = match action {
        "checkRights" => users::check_user_rights(state, request).await,
        "createFirstAdmin" => users::create_first_admin(state, request).await,
        "createRestrictedUser" => users::create_restricted_user(state, request).await,
        "createUser" => users::create_user(state, request).await,
        "deleteUser" => users::delete_user(state, request).await,
        "getUser" => users::get_user(state, request).await,
        "getUserRights" => users::get_user_rights(state, request).await,
        "getUserStrategies" => users::get_user_strategies(state, request).await,
        "mDeleteUsers" => users::m_delete_users(state, request).await,
        "mGetUsers" => users::m_get_users(state, request).await,
        "replaceUser" => users::replace_user(state, request).await,
        "revokeTokens" => users::revoke_tokens(state, request).await,
        "scrollUsers" => users::scroll(state, request).await,
        "searchUsers" => users::search_users(state, request).await,
        "updateUser" => users::update_user(state, request).await,
        "upsertUser" => users::upsert_user(state, request).await,
        _ => return None,
    };
    Some(outcome)
}

async fn handle_role_action(
    state: &ServerState,
    action: &str,
    request: &Request,
) -> Option<ApiResult> {
    let (kind, verb) = if let Some(verb) = action.strip_suffix("Role") {
        (Kind::Role, verb)
    } else if let Some(verb) = action.strip_suffix("Roles") {
        (Kind::Role, verb)
    } else if let Some(verb) = action.strip_suffix("Profile") {
        (Kind::Profile, verb)
    } else if let Some(verb) = action.strip_suffix("Profiles") {
        (Kind::Profile, verb)
    } else if action == "getProfileRights" {
        return Some(roles::get_profile_rights(state, request).await);
    } else {
        return None;
    };
    let outcome = match verb {
        "create" => roles::create(state, kind, request).await,
        "createOrReplace" => roles::create_or_replace(state, kind, request).await,
        "update" => roles::update(state, kind, request).await,
        "get" => roles::get(state, kind, request).await,
        "delete" => roles::delete(state, kind, request).await,
        "mDelete" => roles::m_delete(state, kind, request).await,
        "mGet" => roles::m_get(state, kind, request).await,
        "search" => roles::search(state, kind, request).await,
        _ => return None,
    };
    Some(outcome)
}

async fn handle_credentials_action(
    state: &ServerState,
    action: &str,
    request: &Request,
) -> Option<ApiResult> {
    let outcome = match action {
        "getAllCredentialFields" => {
            let fields: serde_json::Map<String, Value> = credentials::all(state)
                .iter()
                .map(|strategy| (strategy.name().to_owned(), json!(strategy.fields())))
                .collect();
            Ok(Value::Object(fields).into())
        }
        "getCredentialFields" => {
            credentials::strategy(state, request).map(|strategy| json!(strategy.fields()).into())
        }
        "getCredentialsById" => credentials_by_id(state, request).await,
        "searchUsersByCredentials" => search_by_credentials(state, request).await,
        "createCredentials"
        | "updateCredentials"
        | "validateCredentials"
        | "deleteCredentials"
        | "getCredentials"
        | "hasCredentials" => user_credentials(state, action, request).await,
        _ => return None,
    };
    Some(outcome)
}

/// Runs the credentials actions on user `_id`.
async fn user_credentials(state: &ServerState, action: &str, request: &Request) -> ApiResult {
    let strategy = credentials::strategy(state, request)?;
    let kuid = request.string("_id")?;
    users::require_user(state, kuid).await?;
    match action {
        "createCredentials" => {
            let body = credentials::body(request)?;
            Ok(credentials::create(state, &strategy, kuid, &body)
                .await?
                .into())
        }
        "updateCredentials" => {
            let body = credentials::body(request)?;
            Ok(credentials::update(state, &strategy, kuid, &body)
                .await?
                .into())
        }
        "validateCredentials" => {
            let body = credentials::body(request)?;
            credentials::validate(state, &strategy, kuid, &body).await
        }
        "deleteCredentials" => credentials::delete(state, &strategy, kuid).await,
        "getCredentials" => credentials::get(state, &strategy, kuid).await,
        _ => credentials::exists(state, &strategy, kuid).await,
    }
}

/// `searchUsersByCredentials`: `strategy`, `body.query`, `from`, `size`. For `local` the query
/// reads the `username` and `kuid` fields and hits are `{kuid, username}`. For a plugin strategy
/// it reads `subject` and `kuid` and hits are `{kuid, subject}`. Hits never carry a password
/// hash or a strategy's stored document.
async fn search_by_credentials(state: &ServerState, request: &Request) -> ApiResult {
    let strategy = credentials::strategy(state, request)?;
    let query = request
        .body
        .as_ref()
        .and_then(|body| body.get("query"))
        .cloned()
        .unwrap_or_else(|| json!({"match_all": {}}));
    let (collection, query, name_field) = match &strategy {
        credentials::Strategy::Local => (Collection::Credentials, query, "username"),
        credentials::Strategy::Plugin(strategy) => {
            // Plugin strategies share one collection: keep this strategy's entries only.
            let only_strategy = json!({"term": {"strategy": strategy.name}});
            let filtered = json!({"bool": {"must": [query], "filter": [only_strategy]}});
            (Collection::StrategyCredentials, filtered, "subject")
        }
    };

    let search = palisade_storage::SearchRequest {
        body: json!({"query": query}),
        from: api_keys::optional_count(request, "from")?,
        size: api_keys::optional_count(request, "size")?,
        scroll: None,
    };
    let found = state
        .storage
        .search(SECURITY_INDEX, collection.name(), search)
        .await
        .map_err(from_storage)?;
    let hits: Vec<Value> = found
        .hits
        .into_iter()
        .filter_map(|hit| hit.source)
        .map(|source| json!({"kuid": source["kuid"], name_field: source[name_field]}))
        .collect();
    Ok(json!({"hits": hits, "total": found.total}).into())
}

/// `getCredentialsById`: the credentials whose username (`local`) or subject (plugin
/// strategies) is `_id`.
async fn credentials_by_id(state: &ServerState, request: &Request) -> ApiResult {
    let strategy = credentials::strategy(state, request)?;
    let username = request.string("_id")?;
    if let credentials::Strategy::Plugin(strategy) = strategy {
        let Some(kuid) = strategy.kuid_of(state, username).await? else {
            return Err(ApiError::new(
                palisade_api::ErrorId::ServicesStorageNotFound,
                format!(
                    "No {} credentials have the subject `{username}`.",
                    strategy.name
                ),
            )
            .with_props([username]));
        };
        return strategy.get(state, &kuid).await.map(Into::into);
    }
    let kuid = state
        .security
        .local
        .kuid_of(username)
        .await
        .map_err(from_security)?;
    let Some(kuid) = kuid else {
        return Err(ApiError::new(
            palisade_api::ErrorId::ServicesStorageNotFound,
            format!("No local credentials have the username `{username}`."),
        )
        .with_props([username]));
    };
    Ok(json!({"username": username, "kuid": kuid}).into())
}

/// `get{User,Role,Profile}Mapping`: `{mapping: {field: definition}}`.
async fn get_mapping(state: &ServerState, collection: &str) -> ApiResult {
    let mapping = state
        .storage
        .get_mapping(SECURITY_INDEX, collection, false)
        .await
        .map_err(from_storage)?;
    Ok(json!({"mapping": mapping["properties"]}).into())
}

/// `update{User,Role,Profile}Mapping`: adds fields to a mapping, so searches can use them.
async fn update_mapping(state: &ServerState, collection: &str, request: &Request) -> ApiResult {
    let body = Value::Object(request.body_object()?.clone());
    let mapping = state
        .storage
        .update_mapping(SECURITY_INDEX, collection, body)
        .await
        .map_err(from_storage)?;
    Ok(mapping.into())
}

/// `refresh`: makes the last writes to `users`, `roles` or `profiles` searchable.
async fn refresh(state: &ServerState, request: &Request) -> ApiResult {
    let collection = request.string("collection")?;
    if !matches!(collection, "users" | "roles" | "profiles") {
        return Err(ApiError::invalid_argument(
            "collection",
            "one of users, roles or profiles",
        ));
    }
    state
        .storage
        .refresh_collection(SECURITY_INDEX, collection)
        .await
        .map_err(from_storage)?;
    Ok(Value::Null.into())
}
