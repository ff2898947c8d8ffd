//! Users: the JSON form, rights, and the `security` actions on users.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use palisade_security::{SecurityError, User, UserRights};
use palisade_storage::SearchRequest;
use serde_json::{Map, Value, json};

use super::api_keys::optional_count;
use super::auth::current_kuid;
use super::credentials;
use crate::errors::{from_security, from_storage};
use crate::security::SECURITY_INDEX;
use crate::state::ServerState;

fn now_ms() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// Builds the API form of a user: `{_id, _source}`.
pub fn user_json(user: &User) -> Value {
    json!({"_id": user.id, "_source": user.to_source()})
}

/// Loads the rights of a user.
///
/// # Errors
///
/// `security.user.not_found` for an unknown kuid.
pub async fn rights_of(state: &ServerState, kuid: &str) -> Result<UserRights, ApiError> {
    let security = &state.security.security;
    let user = security.get_user(kuid).await.map_err(from_security)?;
    security.user_rights(user).await.map_err(from_security)
}

/// Runs `checkRights`: the body is a request payload whose controller action, index and
/// collection are checked against `rights`. Returns `{allowed}`.
///
/// # Errors
///
/// `missing_argument` when the body has no `controller` or `action`.
pub fn check_rights_result(rights: &UserRights, request: &Request) -> ApiResult {
    let body = request.body_object()?;
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let controller =
        text("controller").ok_or_else(|| ApiError::missing_argument("body.controller"))?;
    let action = text("action").ok_or_else(|| ApiError::missing_argument("body.action"))?;
    let allowed = rights.is_allowed(controller, action, text("index"), text("collection"));
    Ok(json!({"allowed": allowed}).into())
}

/// Applies partial changes to a user's content (top-level keys, `profileIds` included) and
/// records who changed it. Returns the updated user.
///
/// # Errors
///
/// `security.user.not_found`, `security.profile.not_found` for an unknown profile.
pub async fn update(
    state: &ServerState,
    kuid: &str,
    changes: &Map<String, Value>,
    updater: &str,
) -> Result<Arc<User>, ApiError> {
    let security = &state.security.security;
    let current = security.get_user(kuid).await.map_err(from_security)?;
    let mut source = current.to_source();
    if let Some(object) = source.as_object_mut() {
        for (key, value) in changes {
            if key != "_kuzzle_info" {
                object.insert(key.clone(), value.clone());
            }
        }
        let info = object.entry("_kuzzle_info").or_insert_with(|| json!({}));
        if let Some(info) = info.as_object_mut() {
            info.insert("updatedAt".into(), json!(now_ms()));
            info.insert("updater".into(), json!(updater));
        }
    }
    let user = User::from_source(kuid, &source).map_err(from_security)?;
    security
        .create_or_replace_user(&user)
        .await
        .map_err(from_security)?;
    Ok(Arc::new(user))
}

/// Builds a new user from a `content` object, with creation metadata.
fn new_user(kuid: &str, content: &Map<String, Value>, author: &str) -> Result<User, ApiError> {
    let mut source = content.clone();
    source.insert(
        "_kuzzle_info".into(),
        json!({"author": author, "createdAt": now_ms(), "updatedAt": null, "updater": null}),
    );
    User::from_source(kuid, &Value::Object(source)).map_err(from_security)
}

/// Returns the `_id` of a user to create: the argument, or a generated `kuid-<uuid>`.
fn new_kuid(request: &Request) -> Result<String, ApiError> {
    Ok(request
        .optional_string("_id")?
        .map_or_else(User::generate_id, str::to_owned))
}

/// Returns the credentials of a create body, by strategy, checking that every strategy is
/// known: `local` first, then the plugins' strategies in the body's order.
fn credentials_of(
    state: &ServerState,
    body: &Map<String, Value>,
) -> Result<Vec<(credentials::Strategy, Value)>, ApiError> {
    let Some(requested) = body.get("credentials").filter(|value| !value.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(requested) = requested.as_object() else {
        return Err(ApiError::invalid_type("body.credentials", "object"));
    };
    let mut found = Vec::with_capacity(requested.len());
    for (name, value) in requested {
        found.push((credentials::find(state, name)?, value.clone()));
    }
    found.sort_by_key(|(strategy, _)| !matches!(strategy, credentials::Strategy::Local));
    Ok(found)
}

/// Creates a user with optional credentials. The credentials are validated first, and the user
/// is removed again, with the credentials already stored, when storing one of them fails, so
/// no user is left half-created.
async fn create_with_credentials(
    state: &ServerState,
    user: &User,
    credentials_by_strategy: Vec<(credentials::Strategy, Value)>,
) -> Result<(), ApiError> {
    for (strategy, value) in &credentials_by_strategy {
        credentials::validate(state, strategy, &user.id, value).await?;
    }
    let security = &state.security.security;
    security.create_user(user).await.map_err(from_security)?;

    for (strategy, value) in &credentials_by_strategy {
        if let Err(error) = credentials::create(state, strategy, &user.id, value).await {
            remove_half_created(state, &user.id).await;
            return Err(error);
        }
    }
    Ok(())
}

/// Removes a user whose credentials could not all be stored, with those that were.
async fn remove_half_created(state: &ServerState, kuid: &str) {
    let layer = &state.security;
    let cleanup = async {
        layer.security.delete_user(kuid).await?;
        layer.local.delete(kuid).await?;
        layer.strategy_credentials.delete_user(kuid).await
    };
    if let Err(error) = cleanup.await {
        tracing::warn!(kuid, %error, "cannot remove a half-created user");
    }
}

fn content_of(body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    match body.get("content") {
        Some(Value::Object(content)) => Ok(content.clone()),
        Some(_) => Err(ApiError::invalid_type("body.content", "object")),
        None => Err(ApiError::missing_argument("body.content")),
    }
}

/// `security:createUser`: `_id`?, `body: {content: {profileIds, ...}, credentials?}`.
pub async fn create_user(state: &ServerState, request: &Request) -> ApiResult {
    let body = request.body_object()?;
    let kuid = new_kuid(request)?;
    let user = new_user(&kuid, &content_of(body)?, current_kuid(request))?;
    create_with_credentials(state, &user, credentials_of(state, body)?).await?;
    Ok(user_json(&user).into())
}

/// `security:createRestrictedUser`: as `createUser`, with `security.restrictedProfileIds`.
pub async fn create_restricted_user(state: &ServerState, request: &Request) -> ApiResult {
    let body = request.body_object()?;
    let mut content = match body.get("content") {
        Some(Value::Object(content)) => content.clone(),
        Some(_) => return Err(ApiError::invalid_type("body.content", "object")),
        None => Map::new(),
    };
    if content.contains_key("profileIds") {
        return Err(forbidden_argument("body.content.profileIds"));
    }
    content.insert(
        "profileIds".into(),
        json!(state.config.security.restricted_profile_ids),
    );
    let kuid = new_kuid(request)?;
    let user = new_user(&kuid, &content, current_kuid(request))?;
    create_with_credentials(state, &user, credentials_of(state, body)?).await?;
    Ok(user_json(&user).into())
}

/// Builds `api.assert.forbidden_argument` for an argument the action does not accept.
pub fn forbidden_argument(name: &str) -> ApiError {
    ApiError::new(
        ErrorId::ApiAssertForbiddenArgument,
        format!("The request must not contain a \"{name}\" argument: remove it."),
    )
    .with_props([name])
}

/// `security:createFirstAdmin`: creates a user with the `admin` profile when no admin exists;
/// with `reset`, also restricts the default roles and profiles.
pub async fn create_first_admin(state: &ServerState, request: &Request) -> ApiResult {
    let security = &state.security.security;
    let _only_one = state.security.first_admin.lock().await;
    if security.admin_exists().await.map_err(from_security)? {
        return Err(ApiError::new(
            ErrorId::ApiProcessAdminExists,
            "An administrator already exists: log in as that user to create others.",
        ));
    }
    let body = request.body_object()?;
    let mut content = match body.get("content") {
        Some(Value::Object(content)) => content.clone(),
        Some(_) => return Err(ApiError::invalid_type("body.content", "object")),
        None => Map::new(),
    };
    if content.contains_key("profileIds") {
        return Err(forbidden_argument("body.content.profileIds"));
    }
    content.insert("profileIds".into(), json!(["admin"]));
    let kuid = new_kuid(request)?;
    let user = new_user(&kuid, &content, current_kuid(request))?;
    create_with_credentials(state, &user, credentials_of(state, body)?).await?;

    if request.boolean("reset")? {
        security
            .restrict_default_rights()
            .await
            .map_err(from_security)?;
    }
    tracing::info!(kuid = %kuid, "first administrator created");
    Ok(user_json(&user).into())
}

/// `security:getUser`.
pub async fn get_user(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = request.string("_id")?;
    let user = state
        .security
        .security
        .get_user(kuid)
        .await
        .map_err(from_security)?;
    Ok(user_json(&user).into())
}

/// Deletes a user with its credentials, tokens and API keys.
async fn delete_one(state: &ServerState, kuid: &str) -> Result<(), ApiError> {
    let layer = &state.security;
    layer
        .security
        .delete_user(kuid)
        .await
        .map_err(from_security)?;
    layer.local.delete(kuid).await.map_err(from_security)?;
    layer
        .strategy_credentials
        .delete_user(kuid)
        .await
        .map_err(from_security)?;
    layer.tokens.revoke_all(kuid).await.map_err(from_security)?;
    let api_keys = layer
        .tokens
        .list_api_keys(kuid)
        .await
        .map_err(from_security)?;
    for api_key in api_keys {
        layer
            .tokens
            .delete_api_key(kuid, &api_key.id)
            .await
            .map_err(from_security)?;
    }
    Ok(())
}

/// `security:deleteUser`.
pub async fn delete_user(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = request.string("_id")?;
    delete_one(state, kuid).await?;
    Ok(json!({"_id": kuid}).into())
}

/// `security:mDeleteUsers`: `body.ids`. Returns the deleted ids.
pub async fn m_delete_users(state: &ServerState, request: &Request) -> ApiResult {
    let mut deleted = Vec::new();
    for kuid in ids_of(request)? {
        match delete_one(state, &kuid).await {
            Ok(()) => deleted.push(kuid),
            Err(error) => {
                tracing::debug!(kuid = %kuid, error = %error.message(), "user not deleted")
            }
        }
    }
    Ok(json!(deleted).into())
}

/// `security:updateUser`: `_id`, body = partial content.
pub async fn update_user(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = request.string("_id")?;
    let user = update(state, kuid, request.body_object()?, current_kuid(request)).await?;
    Ok(user_json(&user).into())
}

/// `security:replaceUser`: `_id`, body = the whole new content, `profileIds` included.
pub async fn replace_user(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = request.string("_id")?;
    let security = &state.security.security;
    security.get_user(kuid).await.map_err(from_security)?;
    let user = new_user(kuid, request.body_object()?, current_kuid(request))?;
    security
        .create_or_replace_user(&user)
        .await
        .map_err(from_security)?;
    Ok(user_json(&user).into())
}

/// `security:upsertUser`: `_id`, `body: {content, credentials?}`. Updates the content of an
/// existing user, or creates the user with its credentials.
pub async fn upsert_user(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = request.string("_id")?;
    let body = request.body_object()?;
    let content = content_of(body)?;
    match state.security.security.get_user(kuid).await {
        Ok(_) => {
            let user = update(state, kuid, &content, current_kuid(request)).await?;
            Ok(user_json(&user).into())
        }
        Err(SecurityError::UserNotFound { .. }) => {
            let user = new_user(kuid, &content, current_kuid(request))?;
            create_with_credentials(state, &user, credentials_of(state, body)?).await?;
            Ok(user_json(&user).into())
        }
        Err(error) => Err(from_security(error)),
    }
}

/// Reads `ids` from the body or the arguments: an array, or a comma-separated string over HTTP.
pub fn ids_of(request: &Request) -> Result<Vec<String>, ApiError> {
    let value = request
        .body
        .as_ref()
        .and_then(|body| body.get("ids"))
        .or_else(|| request.args.get("ids"));
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::invalid_type("ids", "array of strings"))
            })
            .collect(),
        Some(Value::String(text)) => Ok(text.split(',').map(str::to_owned).collect()),
        Some(_) => Err(ApiError::invalid_type("ids", "array")),
        None => Err(ApiError::missing_argument("ids")),
    }
}

/// `security:mGetUsers`: `ids`. Returns `{hits, total}` with the users found.
pub async fn m_get_users(state: &ServerState, request: &Request) -> ApiResult {
    let mut hits = Vec::new();
    for kuid in ids_of(request)? {
        match state.security.security.get_user(&kuid).await {
            Ok(user) => hits.push(user_json(&user)),
            Err(SecurityError::UserNotFound { .. }) => {}
            Err(error) => return Err(from_security(error)),
        }
    }
    let total = hits.len();
    Ok(json!({"hits": hits, "total": total}).into())
}

/// `security:searchUsers`: `body.query` (Elasticsearch, or Koncorde with `lang=koncorde`),
/// `body.sort`, `from`, `size`. Returns `{hits, total}`.
pub async fn search_users(state: &ServerState, request: &Request) -> ApiResult {
    let mut body = request
        .body
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if request.optional_string("lang")? == Some("koncorde")
        && let Some(filter) = body.remove("query")
    {
        let query = palisade_storage::query::koncorde::translate(&filter).map_err(from_storage)?;
        body.insert("query".into(), query);
    }
    let search = SearchRequest {
        body: Value::Object(body),
        from: optional_count(request, "from")?,
        size: optional_count(request, "size")?,
        scroll: scroll_arg(request)?,
    };
    let found = state
        .storage
        .search(SECURITY_INDEX, "users", search)
        .await
        .map_err(from_storage)?;
    Ok(search_result(found).into())
}

/// `security:scrollUsers` and `scrollProfiles`: `scrollId` and `scroll`. Returns the next page
/// of `searchUsers` or `searchProfiles`.
pub async fn scroll(state: &ServerState, request: &Request) -> ApiResult {
    let scroll_id = request.string("scrollId")?;
    let found = state
        .storage
        .scroll(scroll_id, scroll_arg(request)?)
        .await
        .map_err(from_storage)?;
    Ok(search_result(found).into())
}

/// Reads the `scroll` argument, a duration such as `"30s"`.
pub fn scroll_arg(request: &Request) -> Result<Option<std::time::Duration>, ApiError> {
    let Some(text) = request.optional_string("scroll")? else {
        return Ok(None);
    };
    match palisade_security::token::parse_duration(text).map_err(from_security)? {
        palisade_security::ExpiresIn::After(ms) => Ok(Some(std::time::Duration::from_millis(ms))),
        palisade_security::ExpiresIn::Never => Err(ApiError::invalid_argument(
            "scroll",
            "a duration such as 30s",
        )),
    }
}

/// Builds `{hits: [{_id, _source}], total, scrollId?}` from a search page.
pub fn search_result(found: palisade_storage::SearchResult) -> Value {
    let hits: Vec<Value> = found
        .hits
        .into_iter()
        .map(|hit| json!({"_id": hit.id, "_source": hit.source}))
        .collect();
    let mut result = json!({"hits": hits, "total": found.total});
    if let Some(scroll_id) = found.scroll_id {
        result["scrollId"] = json!(scroll_id);
    }
    result
}

/// `security:getUserRights`.
pub async fn get_user_rights(state: &ServerState, request: &Request) -> ApiResult {
    let rights = rights_of(state, request.string("_id")?).await?;
    Ok(rights.list_result().into())
}

/// `security:getUserStrategies`.
pub async fn get_user_strategies(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = request.string("_id")?;
    state
        .security
        .security
        .get_user(kuid)
        .await
        .map_err(from_security)?;
    Ok(json!(credentials::strategies_of(state, kuid).await?).into())
}

/// `security:checkRights`: `userId`, body = a request payload. Returns `{allowed}`.
pub async fn check_user_rights(state: &ServerState, request: &Request) -> ApiResult {
    let rights = rights_of(state, request.string("userId")?).await?;
    check_rights_result(&rights, request)
}

/// `security:revokeTokens`: revokes every authentication token of `_id`; API keys stay.
pub async fn revoke_tokens(state: &ServerState, request: &Request) -> ApiResult {
    let kuid = request.string("_id")?;
    state
        .security
        .security
        .get_user(kuid)
        .await
        .map_err(from_security)?;
    state
        .security
        .tokens
        .revoke_all(kuid)
        .await
        .map_err(from_security)?;
    Ok(json!({"acknowledged": true}).into())
}

/// Checks that a user exists, for the actions on another user's credentials and API keys.
pub async fn require_user(state: &ServerState, kuid: &str) -> Result<(), ApiError> {
    state
        .security
        .security
        .get_user(kuid)
        .await
        .map(drop)
        .map_err(from_security)
}
