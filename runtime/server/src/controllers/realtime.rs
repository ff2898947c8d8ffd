//! The `realtime` controller: subscriptions, rooms and published messages.
//!
//! Subscriptions belong to the request's connection. Only WebSocket connections can receive
//! notifications, so `subscribe` and `join` are rejected on other protocols.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, Protocol, Request};
use palisade_realtime::{
    DocumentAction, DocumentChange, Origin, RequestContext, Subscribed, SubscriptionOptions,
};
use serde_json::{Value, json};

use super::Controller;
use crate::errors;
use crate::realtime::now_ms;
use crate::state::ServerState;

/// The id Kuzzle gives the anonymous user.
const ANONYMOUS_USER: &str = "-1";

/// Realtime actions.
#[derive(Debug)]
pub struct RealtimeController;

#[async_trait]
impl Controller for RealtimeController {
    fn name(&self) -> &'static str {
        "realtime"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "count",
            "join",
            "list",
            "publish",
            "subscribe",
            "unsubscribe",
            "validate",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "count" => count(state, request),
            "join" => join(state, request),
            "list" => list(state, request).await,
            "publish" => publish(state, request),
            "subscribe" => subscribe(state, request),
            "unsubscribe" => unsubscribe(state, request),
            "validate" => validate(request),
            _ => Err(ApiError::action_not_found(self.name(), action)),
        }
    }
}

/// Returns the kuid of the user behind a request: the one the funnel authenticated, else the
/// anonymous user `-1`.
pub fn request_user_id(request: &Request) -> String {
    request.context.kuid().unwrap_or(ANONYMOUS_USER).to_owned()
}

fn subscribe(state: &ServerState, request: &Request) -> ApiResult {
    require_websocket(request)?;
    let index = request.string("index")?;
    let collection = request.string("collection")?;
    let filter = Value::Object(request.body_object()?.clone());
    let options = subscription_options(request)?;
    let connection_id = &request.context.connection_id;
    let origin = origin(request);

    let subscribed = state.realtime.update(&state.connections, |registry| {
        let outcome =
            registry.subscribe(connection_id, index, collection, &filter, options, &origin);
        take_notifications(outcome)
    });
    let subscribed = subscribed.map_err(errors::from_realtime)?;
    state.drop_subscriptions_if_closed(connection_id);
    emit_subscription_event(state, request, SUBSCRIBE_EVENT, &subscribed.room_id);
    Ok(subscribed_result(&subscribed))
}

/// Hook event emitted after a connection subscribed to a room (`subscribe` or `join`).
const SUBSCRIBE_EVENT: &str = "core:realtime:user:subscribe:after";

/// Hook event emitted after a connection left a room.
const UNSUBSCRIBE_EVENT: &str = "core:realtime:user:unsubscribe:after";

/// Tells the plugins' hooks about a subscription change.
fn emit_subscription_event(state: &ServerState, request: &Request, event: &str, room_id: &str) {
    let payload = json!({
        "roomId": room_id,
        "connectionId": request.context.connection_id,
        "kuid": request.context.kuid(),
        "index": request.args.get("index"),
        "collection": request.args.get("collection"),
    });
    state.plugins.emit(event, payload);
}

fn join(state: &ServerState, request: &Request) -> ApiResult {
    require_websocket(request)?;
    let room_id = body_room_id(request)?;
    let options = subscription_options(request)?;
    let connection_id = &request.context.connection_id;
    let origin = origin(request);

    let subscribed = state.realtime.update(&state.connections, |registry| {
        take_notifications(registry.join(connection_id, room_id, options, &origin))
    });
    let subscribed = subscribed.map_err(errors::from_realtime)?;
    state.drop_subscriptions_if_closed(connection_id);
    emit_subscription_event(state, request, SUBSCRIBE_EVENT, &subscribed.room_id);
    Ok(subscribed_result(&subscribed))
}

fn unsubscribe(state: &ServerState, request: &Request) -> ApiResult {
    let room_id = body_room_id(request)?;
    let connection_id = &request.context.connection_id;
    let origin = origin(request);

    let outcome = state.realtime.update(&state.connections, |registry| {
        match registry.unsubscribe(connection_id, room_id, &origin) {
            Ok(deliveries) => (Ok(()), deliveries),
            Err(error) => (Err(error), Vec::new()),
        }
    });
    outcome.map_err(errors::from_realtime)?;
    emit_subscription_event(state, request, UNSUBSCRIBE_EVENT, room_id);
    Ok(json!({"roomId": room_id}).into())
}

fn count(state: &ServerState, request: &Request) -> ApiResult {
    let room_id = body_room_id(request)?;
    let count = state
        .realtime
        .read(|registry| registry.count(room_id))
        .map_err(errors::from_realtime)?;
    Ok(json!({"count": count}).into())
}

/// Lists the rooms by index and collection with their subscriber counts, keeping only the
/// collections on which the user may run `realtime:subscribe`, as Kuzzle does.
async fn list(state: &ServerState, request: &Request) -> ApiResult {
    let mut rooms = state.realtime.read(|registry| registry.list());

    let kuid = request_user_id(request);
    let user = state
        .security
        .security
        .get_user(&kuid)
        .await
        .map_err(errors::from_security)?;
    let rights = state
        .security
        .security
        .user_rights(user)
        .await
        .map_err(errors::from_security)?;
    for (index, collections) in &mut rooms {
        collections.retain(|collection, _| {
            rights.is_allowed("realtime", "subscribe", Some(index), Some(collection))
        });
    }
    rooms.retain(|_, collections| !collections.is_empty());
    Ok(json!(rooms).into())
}

fn publish(state: &ServerState, request: &Request) -> ApiResult {
    let index = request.string("index")?;
    let collection = request.string("collection")?;
    let id = request.optional_string("_id")?.map(str::to_owned);
    let mut body = request.body_object()?.clone();
    body.insert(
        "_kuzzle_info".into(),
        json!({"author": request_user_id(request), "createdAt": now_ms()}),
    );

    state.notify_document(DocumentChange {
        index: index.to_owned(),
        collection: collection.to_owned(),
        id,
        action: DocumentAction::Publish,
        old_source: None,
        new_source: Some(Value::Object(body)),
        version: None,
        request: request_context(request),
        from_cluster: false,
    });
    Ok(json!({"published": true}).into())
}

/// Validates a message against the collection's validation specifications, as
/// `document:validate` does.
///
/// TODO(validation): collections have no validation specifications yet, so every message with
/// an index, a collection and an object body is valid.
fn validate(request: &Request) -> ApiResult {
    request.string("index")?;
    request.string("collection")?;
    request.body_object()?;
    Ok(json!({"valid": true, "errorMessages": {}}).into())
}

/// Builds the request fields copied into the document notifications it causes. Document write
/// actions use it too.
pub fn request_context(request: &Request) -> RequestContext {
    RequestContext {
        request_id: request.request_id.clone(),
        timestamp: request.timestamp,
        volatile: volatile(request),
        protocol: request.context.protocol.name().to_owned(),
        controller: request.controller.clone(),
    }
}

fn require_websocket(request: &Request) -> Result<(), ApiError> {
    let protocol = request.context.protocol;
    if protocol == Protocol::WebSocket {
        return Ok(());
    }
    let action = format!("{}:{}", request.controller, request.action);
    let message = format!(
        "The protocol \"{}\" is not supported by the API action \"{action}\": notifications \
         need a persistent connection, so subscribe over WebSocket.",
        protocol.name()
    );
    Err(
        ApiError::from_name("api.assert.unsupported_protocol", message)
            .with_props([protocol.name(), action.as_str()]),
    )
}

fn subscription_options(request: &Request) -> Result<SubscriptionOptions, ApiError> {
    let scope = request.optional_string("scope")?;
    let users = request.optional_string("users")?;
    let mut options = SubscriptionOptions::from_args(scope, users, volatile(request))
        .map_err(errors::from_realtime)?;
    let user_id = request_user_id(request);
    options.user_id = (user_id != ANONYMOUS_USER).then_some(user_id);
    Ok(options)
}

fn body_room_id(request: &Request) -> Result<&str, ApiError> {
    match request.body_object()?.get("roomId") {
        None | Some(Value::Null) => Err(ApiError::missing_argument("body.roomId")),
        Some(Value::String(room_id)) => Ok(room_id),
        Some(_) => Err(ApiError::invalid_type("body.roomId", "string")),
    }
}

fn volatile(request: &Request) -> Value {
    request.volatile.clone().map_or(Value::Null, Value::Object)
}

fn origin(request: &Request) -> Origin {
    Origin {
        protocol: request.context.protocol.name().to_owned(),
        timestamp: request.timestamp,
    }
}

/// Splits the user notifications off a subscription, for [`crate::realtime::RealtimeHub::update`].
fn take_notifications(
    outcome: palisade_realtime::Result<Subscribed>,
) -> (
    palisade_realtime::Result<Subscribed>,
    Vec<palisade_realtime::Delivery>,
) {
    match outcome {
        Ok(mut subscribed) => {
            let deliveries = std::mem::take(&mut subscribed.notifications);
            (Ok(subscribed), deliveries)
        }
        Err(error) => (Err(error), Vec::new()),
    }
}

fn subscribed_result(subscribed: &Subscribed) -> palisade_api::Response {
    json!({"roomId": subscribed.room_id, "channel": subscribed.channel}).into()
}
