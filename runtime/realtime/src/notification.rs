//! Notification objects, ready to send, and the inputs that produce them.

use serde_json::{Map, Value, json};

use crate::channel::Scope;

/// What happened to a document, as notifications name it.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentAction {
    /// A new document (`create`, `mCreate`, and `createOrReplace` or `upsert` that created).
    Create,
    /// A replaced document (`replace`, `createOrReplace` of an existing document).
    Replace,
    /// An updated document (`update`, `mUpdate`, `upsert` of an existing document,
    /// `updateByQuery`, `deleteFields`).
    Update {
        /// Top-level fields the request changed, without `_kuzzle_info`.
        updated_fields: Vec<String>,
    },
    /// A deleted document (`delete`, `mDelete`, `deleteByQuery`).
    Delete,
    /// A realtime message (`realtime:publish`), never stored.
    Publish,
}

impl DocumentAction {
    /// Returns the notification's `action`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Replace => "replace",
            Self::Update { .. } => "update",
            Self::Delete => "delete",
            Self::Publish => "publish",
        }
    }

    /// Returns the notification's `event`: `write`, `delete` or `publish`.
    pub fn event(&self) -> &'static str {
        match self {
            Self::Create | Self::Replace | Self::Update { .. } => "write",
            Self::Delete => "delete",
            Self::Publish => "publish",
        }
    }
}

/// The request behind a notification, copied into it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    /// Id of the request.
    pub request_id: String,
    /// Time of the request, in milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The request's `volatile`, passed on unchanged (SDKs filter their own messages by it).
    pub volatile: Value,
    /// Protocol the request came in on: `websocket`, `http`, ...
    pub protocol: String,
    /// Controller of the request: `document`, `realtime`, `bulk`, ...
    pub controller: String,
}

/// A document change to notify subscribers of.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentChange {
    /// Index name.
    pub index: String,
    /// Collection name.
    pub collection: String,
    /// Document `_id`; may be absent for `publish`.
    pub id: Option<String>,
    /// What happened.
    pub action: DocumentAction,
    /// Content before the change. Deletions match subscriptions against it.
    pub old_source: Option<Value>,
    /// Content after the change: the new document, or the published message.
    pub new_source: Option<Value>,
    /// Document version after the change, when the storage has one.
    pub version: Option<u64>,
    /// The request that made the change.
    pub request: RequestContext,
    /// True when the change comes from another cluster node: then only channels with
    /// propagation on receive it.
    pub from_cluster: bool,
}

/// One notification for one channel and the connections listening on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Channel name, also the notification's `room`.
    pub channel: String,
    /// Connections to send the notification to.
    pub connection_ids: Vec<String>,
    /// The notification object, `room` included.
    pub notification: Value,
}

/// Builds a document notification without its `room`.
pub(crate) fn document_notification(
    change: &DocumentChange,
    scope: Scope,
    result: Value,
    node: &str,
) -> Value {
    json!({
        "type": "document",
        "status": 200,
        "action": change.action.name(),
        "event": change.action.event(),
        "scope": scope.as_str(),
        "result": result,
        "index": change.index,
        "collection": change.collection,
        "controller": change.request.controller,
        "protocol": change.request.protocol,
        "requestId": change.request.request_id,
        "timestamp": change.request.timestamp,
        "volatile": change.request.volatile,
        "node": node,
    })
}

/// Builds the `result` of an `in` notification: `_id`, `_source`, then `_version` and
/// `_updatedFields` when known.
pub(crate) fn in_result(change: &DocumentChange, source: &Value) -> Value {
    let mut result = Map::new();
    if let Some(id) = &change.id {
        result.insert("_id".into(), Value::String(id.clone()));
    }
    result.insert("_source".into(), source.clone());
    if let Some(version) = change.version {
        result.insert("_version".into(), Value::from(version));
    }
    if let DocumentAction::Update { updated_fields } = &change.action {
        result.insert("_updatedFields".into(), json!(updated_fields));
    }
    Value::Object(result)
}

/// Builds the `result` of an `out` notification: the `_id` only, as Kuzzle sends it.
pub(crate) fn out_result(change: &DocumentChange) -> Value {
    match &change.id {
        Some(id) => json!({ "_id": id }),
        None => json!({}),
    }
}

/// The subscription event behind a user notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// `realtime:subscribe`.
    Subscribe,
    /// `realtime:join`.
    Join,
    /// `realtime:unsubscribe`, or a closed connection.
    Unsubscribe,
}

impl UserAction {
    fn name(self) -> &'static str {
        match self {
            Self::Subscribe => "subscribe",
            Self::Join => "join",
            Self::Unsubscribe => "unsubscribe",
        }
    }
}

/// Fields of a user notification that come from the subscription and its request.
pub(crate) struct UserEvent<'a> {
    pub action: UserAction,
    pub index: &'a str,
    pub collection: &'a str,
    pub count: usize,
    pub volatile: &'a Value,
    pub protocol: &'a str,
    pub timestamp: u64,
}

/// Builds a user notification without its `room`.
pub(crate) fn user_notification(event: &UserEvent<'_>, node: &str) -> Value {
    let user = if event.action == UserAction::Unsubscribe {
        "out"
    } else {
        "in"
    };
    json!({
        "type": "user",
        "status": 200,
        "user": user,
        "result": {"count": event.count},
        "controller": "realtime",
        "action": event.action.name(),
        "index": event.index,
        "collection": event.collection,
        "protocol": event.protocol,
        "timestamp": event.timestamp,
        "volatile": event.volatile,
        "node": node,
    })
}

/// Returns a copy of a notification with `room` set to the channel.
pub(crate) fn for_channel(notification: &Value, channel: &str) -> Value {
    let mut notification = notification.clone();
    if let Value::Object(map) = &mut notification {
        map.insert("room".into(), Value::String(channel.to_owned()));
    }
    notification
}

/// The `room` of server notifications, which the SDKs handle before looking up a channel.
pub const SERVER_CHANNEL: &str = "kuzzle:notification:server";

/// Builds the `TokenExpired` server notification, `room` included.
pub fn token_expired_notification(node: &str) -> Value {
    json!({
        "type": "TokenExpired",
        "status": 200,
        "info": "This is an automated server notification",
        "message": "Authentication Token Expired",
        "node": node,
        "room": SERVER_CHANNEL,
    })
}
