//! Arguments, metadata and change notifications shared by the controllers that use the document
//! store (`index`, `collection`, `document`, `bulk`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_api::{ApiError, ErrorId, Request};
use palisade_realtime::{DocumentAction, DocumentChange, RequestContext};
use palisade_storage::{Refresh, StorageError, WriteOptions, WriteResult, names};
use serde_json::{Map, Value, json};

use crate::errors;
use crate::state::ServerState;

/// The kuid of the anonymous user.
pub const ANONYMOUS_KUID: &str = "-1";

/// Returns the kuid of the user who sent the request, recorded as `author` and `updater`.
///
/// The funnel sets it after verifying the token. A request that did not go through the funnel
/// (a call made by the server itself) counts as anonymous.
pub fn user_id(request: &Request) -> &str {
    request.context.kuid().unwrap_or(ANONYMOUS_KUID)
}

/// Milliseconds since the Unix epoch, the unit of `createdAt` and `updatedAt`.
pub fn now_ms() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// Converts a storage error into its API error.
pub fn storage_error(error: StorageError) -> ApiError {
    errors::from_storage(error)
}

/// Returns the `index` argument, rejecting internal indexes (names starting with `%`).
///
/// # Errors
///
/// `missing_argument`, `invalid_type`, or `services.storage.index_protected`.
pub fn index(request: &Request) -> Result<&str, ApiError> {
    let index = request.string("index")?;
    check_public_index(index)?;
    Ok(index)
}

/// Rejects an internal index name, which only the server may use.
///
/// # Errors
///
/// `services.storage.index_protected` naming the index.
pub fn check_public_index(index: &str) -> Result<(), ApiError> {
    if names::is_internal_index(index) {
        return Err(ApiError::new(
            ErrorId::ServicesStorageIndexProtected,
            format!(
                "The index \"{index}\" is internal to the server and cannot be used through this \
                 API: use an index name without a leading `%`."
            ),
        )
        .with_props([index]));
    }
    Ok(())
}

/// Returns the `index` and `collection` arguments.
///
/// # Errors
///
/// As [`index`], and `missing_argument` or `invalid_type` for `collection`.
pub fn target(request: &Request) -> Result<(&str, &str), ApiError> {
    let index = index(request)?;
    let collection = request.string("collection")?;
    Ok((index, collection))
}

/// Returns the `_id` argument of an action on one existing document.
///
/// # Errors
///
/// `missing_argument`, `invalid_type` when `_id` is not a string.
pub fn document_id(request: &Request) -> Result<&str, ApiError> {
    request.string("_id")
}

/// Reads `refresh`: `wait_for` waits until the write is searchable; `false` (or absent) does not.
///
/// # Errors
///
/// `services.storage.invalid_argument` for any other value.
pub fn refresh(request: &Request) -> Result<Refresh, ApiError> {
    match request.args.get("refresh") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(Refresh::NearRealTime),
        Some(Value::String(text)) if text.is_empty() || text == "false" => {
            Ok(Refresh::NearRealTime)
        }
        Some(Value::String(text)) if text == "wait_for" => Ok(Refresh::WaitFor),
        Some(other) => Err(ApiError::new(
            ErrorId::ServicesStorageInvalidArgument,
            format!(
                "Invalid argument \"refresh\": {other} is not accepted; use \"wait_for\" or false."
            ),
        )
        .with_props(["refresh", "\"wait_for\", false"])),
    }
}

/// Builds the write options from `refresh` and `retryOnConflict`.
///
/// # Errors
///
/// As [`refresh`], and `invalid_argument` for a negative `retryOnConflict`.
pub fn write_options(request: &Request) -> Result<WriteOptions, ApiError> {
    let retries = request.integer("retryOnConflict", 0)?;
    let retry_on_conflict = u32::try_from(retries)
        .map_err(|_| ApiError::invalid_argument("retryOnConflict", "an integer >= 0"))?;
    Ok(WriteOptions {
        refresh: refresh(request)?,
        retry_on_conflict,
    })
}

/// Reads the `scroll` argument, a time to live such as `"30s"` or `"1m"`.
///
/// # Errors
///
/// `invalid_argument` when it is not a duration.
pub fn scroll_ttl(request: &Request) -> Result<Option<Duration>, ApiError> {
    let text = match request.args.get("scroll") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) if text.is_empty() => return Ok(None),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(_) => return Err(ApiError::invalid_type("scroll", "string")),
    };
    match palisade_security::token::parse_duration(&text) {
        Ok(palisade_security::token::ExpiresIn::After(ms)) => Ok(Some(Duration::from_millis(ms))),
        _ => Err(ApiError::invalid_argument(
            "scroll",
            "a duration such as \"30s\" or \"1m\"",
        )),
    }
}

/// Translates `body.query` to the Elasticsearch query language when `lang` is `koncorde`.
///
/// # Errors
///
/// `invalid_argument` for an unknown `lang`, and the Koncorde translation errors.
pub fn translate_query(request: &Request, query: Value) -> Result<Value, ApiError> {
    match request.optional_string("lang")? {
        None | Some("elasticsearch") => Ok(query),
        Some("koncorde") => {
            palisade_storage::query::koncorde::translate(&query).map_err(storage_error)
        }
        Some(_) => Err(ApiError::invalid_argument(
            "lang",
            "\"elasticsearch\" or \"koncorde\"",
        )),
    }
}

/// Rejects a multi-document request above `limits.documentsWriteCount`.
///
/// # Errors
///
/// `services.storage.write_limit_exceeded`.
pub fn check_write_count(state: &ServerState, count: usize) -> Result<(), ApiError> {
    let limit = state.config.limits.documents_write_count;
    if count > limit {
        return Err(ApiError::new(
            ErrorId::ServicesStorageWriteLimitExceeded,
            format!(
                "The request writes {count} documents, above the limit of {limit} \
                 (limits.documentsWriteCount): split it into smaller requests."
            ),
        )
        .with_props([count.to_string(), limit.to_string()]));
    }
    Ok(())
}

/// Rejects a request that fetches more than `limits.documentsFetchCount` documents.
///
/// # Errors
///
/// `services.storage.get_limit_exceeded`.
pub fn check_fetch_count(state: &ServerState, count: i64) -> Result<(), ApiError> {
    let limit = state.config.limits.documents_fetch_count;
    if count > i64::try_from(limit).unwrap_or(i64::MAX) {
        return Err(ApiError::new(
            ErrorId::ServicesStorageGetLimitExceeded,
            format!(
                "The request fetches {count} documents, above the limit of {limit} \
                 (limits.documentsFetchCount): paginate with from/size, scroll or search_after."
            ),
        )
        .with_props([count.to_string(), limit.to_string()]));
    }
    Ok(())
}

/// `_kuzzle_info` of a created document.
pub fn created_info(user: &str, now: u64) -> Value {
    json!({"author": user, "createdAt": now, "updatedAt": null, "updater": null})
}

/// `_kuzzle_info` of a replaced document: `createdAt` is reset, as Kuzzle does.
pub fn replaced_info(user: &str, now: u64) -> Value {
    json!({"author": user, "createdAt": now, "updatedAt": now, "updater": user})
}

/// `_kuzzle_info` merged into an updated document.
pub fn updated_info(user: &str, now: u64) -> Value {
    json!({"updatedAt": now, "updater": user})
}

/// Returns `source` as an object with `_kuzzle_info` set to `info`, replacing any value the user
/// sent.
///
/// # Errors
///
/// `invalid_type` naming `field` when `source` is not an object.
pub fn with_info(source: Value, info: Value, field: &str) -> Result<Value, ApiError> {
    let Value::Object(mut object) = source else {
        return Err(ApiError::invalid_type(field, "object"));
    };
    object.insert("_kuzzle_info".into(), info);
    Ok(Value::Object(object))
}

/// Top-level fields of an update, without `_kuzzle_info`, as notifications list them.
pub fn updated_fields(changes: &Value) -> Vec<String> {
    changes
        .as_object()
        .map(|object| {
            object
                .keys()
                .filter(|key| key.as_str() != "_kuzzle_info")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Sends the change notifications of one write request, unless it is silent.
pub struct Notifier<'a> {
    state: &'a ServerState,
    request: &'a Request,
    index: &'a str,
    collection: &'a str,
    enabled: bool,
}

impl<'a> Notifier<'a> {
    /// Creates the notifier of a document write request, which notifies unless `silent` is set.
    ///
    /// # Errors
    ///
    /// `invalid_type` when `silent` is not a boolean.
    pub fn for_document(
        state: &'a ServerState,
        request: &'a Request,
        index: &'a str,
        collection: &'a str,
    ) -> Result<Self, ApiError> {
        let enabled = !request.boolean("silent")?;
        Ok(Self {
            state,
            request,
            index,
            collection,
            enabled,
        })
    }

    /// Creates the notifier of a bulk request, which notifies only when `notify` is set.
    ///
    /// # Errors
    ///
    /// `invalid_type` when `notify` is not a boolean.
    pub fn for_bulk(
        state: &'a ServerState,
        request: &'a Request,
        index: &'a str,
        collection: &'a str,
    ) -> Result<Self, ApiError> {
        let enabled = request.boolean("notify")?;
        Ok(Self {
            state,
            request,
            index,
            collection,
            enabled,
        })
    }

    /// Hands one applied write to the realtime engine.
    pub fn notify(&self, action: DocumentAction, write: &WriteResult) {
        if !self.enabled || !self.watched() {
            return;
        }
        let change = document_change(self.request, self.index, self.collection, action, write);
        self.state.notify_document(change);
    }

    /// Returns whether a notification of the collection can reach a subscriber, so that writes
    /// to a collection without subscriptions copy no document.
    fn watched(&self) -> bool {
        let (index, collection) = (self.index, self.collection);
        self.state
            .realtime
            .read(|registry| registry.watches(index, collection))
    }

    /// Notifies a write that may have created the document (`createOrReplace`, `upsert`).
    pub fn notify_created_or(&self, otherwise: DocumentAction, write: &WriteResult) {
        let action = if write.created {
            DocumentAction::Create
        } else {
            otherwise
        };
        self.notify(action, write);
    }
}

/// Builds the change notification of one applied write.
fn document_change(
    request: &Request,
    index: &str,
    collection: &str,
    action: DocumentAction,
    write: &WriteResult,
) -> DocumentChange {
    let volatile = request.volatile.clone().map_or(Value::Null, Value::Object);
    DocumentChange {
        index: index.to_owned(),
        collection: collection.to_owned(),
        id: Some(write.id.clone()),
        action,
        old_source: write.old_source.clone(),
        new_source: write.source.clone(),
        version: Some(write.version),
        request: RequestContext {
            request_id: request.request_id.clone(),
            timestamp: request.timestamp,
            volatile,
            protocol: request.context.protocol.name().to_owned(),
            controller: request.controller.clone(),
        },
        from_cluster: false,
    }
}

/// Builds a `{_id, _source, _version}` object.
pub fn document_json(id: &str, source: Option<Value>, version: u64) -> Value {
    json!({"_id": id, "_source": source.unwrap_or(Value::Null), "_version": version})
}

/// Returns an object argument of the body, or an error naming it as `body.<name>`.
///
/// # Errors
///
/// `missing_argument` when absent, `invalid_type` when not an object.
pub fn body_object_field<'b>(
    body: &'b Map<String, Value>,
    name: &str,
) -> Result<&'b Map<String, Value>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::missing_argument(&format!("body.{name}"))),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(ApiError::invalid_type(&format!("body.{name}"), "object")),
    }
}

/// Returns an array argument of the body, or an error naming it as `body.<name>`.
///
/// # Errors
///
/// `missing_argument` when absent, `invalid_type` when not an array.
pub fn body_array_field<'b>(
    body: &'b Map<String, Value>,
    name: &str,
) -> Result<&'b Vec<Value>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::missing_argument(&format!("body.{name}"))),
        Some(Value::Array(array)) => Ok(array),
        Some(_) => Err(ApiError::invalid_type(&format!("body.{name}"), "array")),
    }
}

/// Returns the query of a by-query action: `body.query`, translated when `lang=koncorde`.
///
/// # Errors
///
/// `body_required`, `missing_argument` for `body.query`, and the translation errors.
pub fn required_query(request: &Request) -> Result<Value, ApiError> {
    let body = request.body_object()?;
    let query = body_object_field(body, "query")?;
    translate_query(request, Value::Object(query.clone()))
}

#[cfg(test)]
mod tests {
    use palisade_api::{Protocol, RequestContext as ApiContext};

    use super::*;

    fn request(protocol: Protocol) -> Request {
        let context = ApiContext {
            protocol,
            connection_id: "c".into(),
            string_args: protocol == Protocol::Http,
            kuid: std::sync::OnceLock::new(),
            run_as: None,
        };
        let mut request = Request::new("document", "update", context);
        request.request_id = "r-1".into();
        request.timestamp = 42;
        let mut volatile = Map::new();
        volatile.insert("sdkInstanceId".into(), json!("s"));
        request.volatile = Some(volatile);
        request
    }

    #[test]
    fn change_carries_write_and_request() {
        let write = WriteResult {
            id: "d".into(),
            version: 3,
            old_source: Some(json!({"a": 1})),
            source: Some(json!({"a": 2})),
            created: false,
        };
        let action = DocumentAction::Update {
            updated_fields: vec!["a".into()],
        };
        let change = document_change(&request(Protocol::WebSocket), "i", "c", action, &write);

        assert_eq!(change.index, "i");
        assert_eq!(change.collection, "c");
        assert_eq!(change.id.as_deref(), Some("d"));
        assert_eq!(change.old_source, Some(json!({"a": 1})));
        assert_eq!(change.new_source, Some(json!({"a": 2})));
        assert_eq!(change.version, Some(3));
        assert_eq!(change.request.request_id, "r-1");
        assert_eq!(change.request.timestamp, 42);
        assert_eq!(change.request.volatile["sdkInstanceId"], "s");
        assert_eq!(change.request.protocol, "websocket");
        assert_eq!(change.request.controller, "document");
        assert!(!change.from_cluster);
        let DocumentAction::Update { updated_fields } = change.action else {
            panic!("expected an update");
        };
        assert_eq!(updated_fields, ["a"]);
    }

    #[test]
    fn author_is_the_authenticated_user() {
        let request = request(Protocol::WebSocket);
        assert_eq!(user_id(&request), ANONYMOUS_KUID);
        request.context.kuid.set("alice".into()).unwrap();
        assert_eq!(user_id(&request), "alice");
    }

    #[test]
    fn updated_fields_skip_metadata() {
        let changes = json!({"a": 1, "b": {"c": 2}, "_kuzzle_info": {"updater": "-1"}});
        assert_eq!(updated_fields(&changes), ["a", "b"]);
    }

    #[test]
    fn refresh_accepts_wait_for_and_false() {
        let mut request = request(Protocol::Http);
        assert_eq!(refresh(&request).unwrap(), Refresh::NearRealTime);
        request.args.insert("refresh".into(), json!("wait_for"));
        assert_eq!(refresh(&request).unwrap(), Refresh::WaitFor);
        request.args.insert("refresh".into(), json!("false"));
        assert_eq!(refresh(&request).unwrap(), Refresh::NearRealTime);
        request.args.insert("refresh".into(), json!(true));
        assert_eq!(
            refresh(&request).unwrap_err().id(),
            ErrorId::ServicesStorageInvalidArgument
        );
    }

    #[test]
    fn scroll_durations_parse() {
        let mut request = request(Protocol::Http);
        assert_eq!(scroll_ttl(&request).unwrap(), None);
        request.args.insert("scroll".into(), json!("30s"));
        assert_eq!(scroll_ttl(&request).unwrap(), Some(Duration::from_secs(30)));
        request.args.insert("scroll".into(), json!("1m"));
        assert_eq!(scroll_ttl(&request).unwrap(), Some(Duration::from_secs(60)));
        request.args.insert("scroll".into(), json!("soon"));
        assert!(scroll_ttl(&request).is_err());
    }

    #[test]
    fn metadata_replaces_user_value() {
        let source = json!({"a": 1, "_kuzzle_info": {"author": "mallory"}});
        let stored = with_info(source, created_info("-1", 7), "body").unwrap();
        assert_eq!(stored["_kuzzle_info"]["author"], "-1");
        assert_eq!(stored["_kuzzle_info"]["createdAt"], 7);
        assert_eq!(stored["_kuzzle_info"]["updatedAt"], Value::Null);
        assert!(with_info(json!([1]), created_info("-1", 7), "body").is_err());
    }
}
