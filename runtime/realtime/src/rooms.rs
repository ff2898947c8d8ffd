//! Rooms, their subscribers and channels, and the notifications that subscriptions and
//! document changes produce.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::cache::{DocumentRoomCache, MemoryRoomCache, document_key};
use crate::channel::{Scope, Users, channel_name};
use crate::engine::{EngineConfig, FilterEngine};
use crate::error::{RealtimeError, Result};
use crate::notification::{
    Delivery, DocumentAction, DocumentChange, SERVER_CHANNEL, UserAction, UserEvent,
    document_notification, for_channel, in_result, out_result, token_expired_notification,
    user_notification,
};

/// Settings of a [`Realtime`] registry.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// Filter engine settings: room id seed and filter limits.
    pub engine: EngineConfig,
    /// Maximum number of rooms (Kuzzle's `limits.subscriptionRooms`); 0 means no limit.
    pub max_rooms: usize,
    /// Node id written into every notification's `node`.
    pub node_id: String,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            max_rooms: 1_000_000,
            node_id: "knode-palisade-1".to_owned(),
        }
    }
}

/// Options of one subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionOptions {
    /// Document notifications to receive.
    pub scope: Scope,
    /// User notifications to receive.
    pub users: Users,
    /// False to receive notifications only from this node (Kuzzle's `propagate`).
    pub propagate: bool,
    /// The subscription request's `volatile`, sent in this subscriber's user notifications.
    pub volatile: Value,
    /// Id of the subscribing user, if authenticated.
    pub user_id: Option<String>,
}

impl Default for SubscriptionOptions {
    /// Scope `all`, users `none`, propagation on, no volatile, anonymous.
    fn default() -> Self {
        Self {
            scope: Scope::All,
            users: Users::None,
            propagate: true,
            volatile: Value::Null,
            user_id: None,
        }
    }
}

impl SubscriptionOptions {
    /// Parses the `scope` and `users` arguments of `subscribe` or `join`; propagation is on.
    ///
    /// # Errors
    ///
    /// Returns [`RealtimeError::InvalidScope`] or [`RealtimeError::InvalidUsers`].
    pub fn from_args(scope: Option<&str>, users: Option<&str>, volatile: Value) -> Result<Self> {
        Ok(Self {
            scope: Scope::parse(scope)?,
            users: Users::parse(users)?,
            propagate: true,
            volatile,
            user_id: None,
        })
    }
}

/// The protocol and time of the request behind a user notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Protocol of the request: `websocket`, `http`, ...
    pub protocol: String,
    /// Time of the request, in milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// Result of `subscribe` and `join`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribed {
    /// The room's id.
    pub room_id: String,
    /// The channel the connection listens on.
    pub channel: String,
    /// User notifications to send.
    pub notifications: Vec<Delivery>,
}

#[derive(Debug)]
struct Channel {
    scope: Scope,
    users: Users,
    propagate: bool,
    connections: BTreeSet<String>,
}

#[derive(Debug)]
struct Subscriber {
    volatile: Value,
    user_id: Option<String>,
    channels: BTreeSet<String>,
}

#[derive(Debug)]
struct Room {
    index: String,
    collection: String,
    channels: BTreeMap<String, Channel>,
    subscribers: HashMap<String, Subscriber>,
}

/// Rooms per `index/collection/roomId` with their counts, as `realtime:list` returns them.
pub type RoomList = BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>;

/// The subscriptions of one node: rooms, channels, connections, and the filter engine.
///
/// It stores no connection, so callers send each returned [`Delivery`] to its connections.
#[derive(Debug)]
pub struct Realtime<C = MemoryRoomCache> {
    config: RealtimeConfig,
    filters: FilterEngine,
    rooms: HashMap<String, Room>,
    connections: HashMap<String, BTreeSet<String>>,
    cache: C,
}

impl Realtime<MemoryRoomCache> {
    /// Creates a registry with an in-memory document cache whose entries live `document_ttl`
    /// (`None`: until the document is deleted).
    pub fn new(config: RealtimeConfig, document_ttl: Option<Duration>) -> Self {
        Self::with_cache(config, MemoryRoomCache::new(document_ttl))
    }
}

impl<C: DocumentRoomCache> Realtime<C> {
    /// Creates a registry with a given document cache.
    pub fn with_cache(config: RealtimeConfig, cache: C) -> Self {
        Self {
            filters: FilterEngine::new(config.engine.clone()),
            config,
            rooms: HashMap::new(),
            connections: HashMap::new(),
            cache,
        }
    }

    /// Returns whether a change of a document of a collection can notify anyone. It is false
    /// when no filter reads the collection and the document cache is empty, because the change
    /// then matches no room and leaves no room, and [`Realtime::notify_document`] would change
    /// nothing. Writers check it before copying a document for its notification.
    pub fn watches(&self, index: &str, collection: &str) -> bool {
        let has_filters = self
            .filters
            .engine(index, collection)
            .is_some_and(|engine| !engine.is_empty());
        has_filters || self.cache.may_hold_entries()
    }

    /// Returns the filter engine, to validate or test filters directly.
    pub fn filters(&self) -> &FilterEngine {
        &self.filters
    }

    /// Subscribes a connection to the room of a filter, creating the room if needed.
    ///
    /// # Errors
    ///
    /// Returns a filter error (see [`FilterEngine::normalize`]) or
    /// [`RealtimeError::TooManyRooms`].
    pub fn subscribe(
        &mut self,
        connection_id: &str,
        index: &str,
        collection: &str,
        filter: &Value,
        options: SubscriptionOptions,
        origin: &Origin,
    ) -> Result<Subscribed> {
        let normalized = self.filters.normalize(index, collection, filter)?;
        if !self.rooms.contains_key(&normalized.id) {
            let max = self.config.max_rooms;
            if max > 0 && self.rooms.len() >= max {
                return Err(RealtimeError::TooManyRooms(max));
            }
            self.filters.store(&normalized);
            let room = Room {
                index: index.to_owned(),
                collection: collection.to_owned(),
                channels: BTreeMap::new(),
                subscribers: HashMap::new(),
            };
            self.rooms.insert(normalized.id.clone(), room);
        }
        Ok(self.add_subscriber(
            connection_id,
            &normalized.id,
            options,
            origin,
            UserAction::Subscribe,
        ))
    }

    /// Subscribes a connection to an existing room.
    ///
    /// # Errors
    ///
    /// Returns [`RealtimeError::RoomNotFound`] when no room has this id.
    pub fn join(
        &mut self,
        connection_id: &str,
        room_id: &str,
        options: SubscriptionOptions,
        origin: &Origin,
    ) -> Result<Subscribed> {
        if !self.rooms.contains_key(room_id) {
            return Err(RealtimeError::RoomNotFound(room_id.to_owned()));
        }
        Ok(self.add_subscriber(connection_id, room_id, options, origin, UserAction::Join))
    }

    fn add_subscriber(
        &mut self,
        connection_id: &str,
        room_id: &str,
        options: SubscriptionOptions,
        origin: &Origin,
        action: UserAction,
    ) -> Subscribed {
        let channel = channel_name(room_id, options.scope, options.users, options.propagate);
        let room = self.rooms.get_mut(room_id).expect("room exists");
        room.channels
            .entry(channel.clone())
            .or_insert_with(|| Channel {
                scope: options.scope,
                users: options.users,
                propagate: options.propagate,
                connections: BTreeSet::new(),
            })
            .connections
            .insert(connection_id.to_owned());

        let is_new = !room.subscribers.contains_key(connection_id);
        let subscriber = room
            .subscribers
            .entry(connection_id.to_owned())
            .or_insert_with(|| Subscriber {
                volatile: options.volatile.clone(),
                user_id: options.user_id.clone(),
                channels: BTreeSet::new(),
            });
        subscriber.channels.insert(channel.clone());
        self.connections
            .entry(connection_id.to_owned())
            .or_default()
            .insert(room_id.to_owned());

        let notifications = if is_new {
            self.user_deliveries(room_id, action, &options.volatile, origin)
        } else {
            Vec::new()
        };
        Subscribed {
            room_id: room_id.to_owned(),
            channel,
            notifications,
        }
    }

    /// Unsubscribes a connection from a room, removing the room when it was the last
    /// subscriber. Returns the user notifications to send.
    ///
    /// # Errors
    ///
    /// Returns [`RealtimeError::RoomNotFound`] or [`RealtimeError::NotSubscribed`].
    pub fn unsubscribe(
        &mut self,
        connection_id: &str,
        room_id: &str,
        origin: &Origin,
    ) -> Result<Vec<Delivery>> {
        let room = self
            .rooms
            .get_mut(room_id)
            .ok_or_else(|| RealtimeError::RoomNotFound(room_id.to_owned()))?;
        let Some(subscriber) = room.subscribers.remove(connection_id) else {
            return Err(RealtimeError::NotSubscribed(room_id.to_owned()));
        };
        for name in &subscriber.channels {
            if let Some(channel) = room.channels.get_mut(name) {
                channel.connections.remove(connection_id);
                if channel.connections.is_empty() {
                    room.channels.remove(name);
                }
            }
        }
        if let Some(rooms) = self.connections.get_mut(connection_id) {
            rooms.remove(room_id);
            if rooms.is_empty() {
                self.connections.remove(connection_id);
            }
        }

        if room.subscribers.is_empty() {
            let room = self.rooms.remove(room_id).expect("room exists");
            self.filters.remove(&room.index, &room.collection, room_id);
            return Ok(Vec::new());
        }
        Ok(self.user_deliveries(
            room_id,
            UserAction::Unsubscribe,
            &subscriber.volatile,
            origin,
        ))
    }

    /// Removes every subscription of a connection, as when it closes. Returns the user
    /// notifications to send to the remaining subscribers.
    pub fn disconnect(&mut self, connection_id: &str, origin: &Origin) -> Vec<Delivery> {
        let mut deliveries = Vec::new();
        for room_id in self.rooms_of(connection_id) {
            // The room and the subscription exist: both come from the connection's own list.
            if let Ok(more) = self.unsubscribe(connection_id, &room_id, origin) {
                deliveries.extend(more);
            }
        }
        deliveries
    }

    /// Handles the expiry of the token linked to a connection: returns a `TokenExpired`
    /// server notification for the connection, followed by the user notifications of removing
    /// all its subscriptions. Returns nothing when the connection has no subscription.
    pub fn token_expired(&mut self, connection_id: &str, origin: &Origin) -> Vec<Delivery> {
        if self.rooms_of(connection_id).is_empty() {
            return Vec::new();
        }
        let mut deliveries = vec![Delivery {
            channel: SERVER_CHANNEL.to_owned(),
            connection_ids: vec![connection_id.to_owned()],
            notification: token_expired_notification(&self.config.node_id),
        }];
        deliveries.extend(self.disconnect(connection_id, origin));
        deliveries
    }

    /// Returns the number of connections subscribed to a room on this node.
    ///
    /// # Errors
    ///
    /// Returns [`RealtimeError::RoomNotFound`].
    pub fn count(&self, room_id: &str) -> Result<usize> {
        self.rooms
            .get(room_id)
            .map(|room| room.subscribers.len())
            .ok_or_else(|| RealtimeError::RoomNotFound(room_id.to_owned()))
    }

    /// Returns every room with its subscriber count, by index and collection.
    pub fn list(&self) -> RoomList {
        let mut list = RoomList::new();
        for (id, room) in &self.rooms {
            list.entry(room.index.clone())
                .or_default()
                .entry(room.collection.clone())
                .or_default()
                .insert(id.clone(), room.subscribers.len());
        }
        list
    }

    /// Returns the rooms a connection is subscribed to.
    pub fn rooms_of(&self, connection_id: &str) -> Vec<String> {
        self.connections
            .get(connection_id)
            .map(|rooms| rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Returns the id of the user behind a subscription, when it was given.
    pub fn subscriber_user(&self, room_id: &str, connection_id: &str) -> Option<&str> {
        let subscriber = self.rooms.get(room_id)?.subscribers.get(connection_id)?;
        subscriber.user_id.as_deref()
    }

    /// Returns the channels a connection listens on, for server notifications such as
    /// `TokenExpired`.
    pub fn channels_of(&self, connection_id: &str) -> Vec<String> {
        self.rooms_of(connection_id)
            .iter()
            .filter_map(|id| self.rooms.get(id)?.subscribers.get(connection_id))
            .flat_map(|subscriber| subscriber.channels.iter().cloned())
            .collect()
    }

    fn user_deliveries(
        &self,
        room_id: &str,
        action: UserAction,
        volatile: &Value,
        origin: &Origin,
    ) -> Vec<Delivery> {
        let room = &self.rooms[room_id];
        let kind = if action == UserAction::Unsubscribe {
            Users::Out
        } else {
            Users::In
        };
        let event = UserEvent {
            action,
            index: &room.index,
            collection: &room.collection,
            count: room.subscribers.len(),
            volatile,
            protocol: &origin.protocol,
            timestamp: origin.timestamp,
        };
        let notification = user_notification(&event, &self.config.node_id);
        room.channels
            .iter()
            .filter(|(_, channel)| channel.users.accepts(kind))
            .map(|(name, channel)| Delivery {
                channel: name.clone(),
                connection_ids: channel.connections.iter().cloned().collect(),
                notification: for_channel(&notification, name),
            })
            .collect()
    }

    /// Computes the notifications of a document change and updates the per-document cache.
    ///
    /// Creations, replacements and updates notify `in` the rooms matching the new content, and
    /// `out` the rooms that matched the document at its previous notification and no longer
    /// do. Deletions notify `out` the rooms matching the deleted content. Publications notify
    /// `in` the matching rooms and leave the cache alone. Matching uses `_source` plus `_id`.
    pub fn notify_document(&mut self, change: &DocumentChange) -> Vec<Delivery> {
        let empty = Value::Object(serde_json::Map::new());
        let key = change
            .id
            .as_deref()
            .map(|id| document_key(&change.index, &change.collection, id));
        // Sorted so that deliveries and the cached room lists come in a stable order.
        let test = |source: Option<&Value>| {
            let source = source.unwrap_or(&empty);
            let mut rooms = self.filters.matching_ids(
                &change.index,
                &change.collection,
                source,
                change.id.as_deref(),
            );
            rooms.sort_unstable();
            rooms
        };

        match change.action {
            DocumentAction::Publish => {
                let rooms = test(change.new_source.as_ref());
                let result = || in_result(change, change.new_source.as_ref().unwrap_or(&empty));
                self.document_deliveries(change, &rooms, Scope::In, result)
            }
            DocumentAction::Delete => {
                let rooms = test(change.old_source.as_ref());
                if let Some(key) = &key {
                    self.cache.remove(key);
                }
                self.document_deliveries(change, &rooms, Scope::Out, || out_result(change))
            }
            DocumentAction::Create | DocumentAction::Replace | DocumentAction::Update { .. } => {
                let rooms = test(change.new_source.as_ref());
                let result = || in_result(change, change.new_source.as_ref().unwrap_or(&empty));
                let mut deliveries = self.document_deliveries(change, &rooms, Scope::In, result);

                let Some(key) = key else {
                    return deliveries;
                };
                if let Some(previous) = self.cache.get(&key) {
                    let left: Vec<String> = previous
                        .into_iter()
                        .filter(|room| !rooms.contains(&room.as_str()))
                        .collect();
                    let out =
                        self.document_deliveries(change, &left, Scope::Out, || out_result(change));
                    deliveries.extend(out);
                }
                if rooms.is_empty() {
                    self.cache.remove(&key);
                } else {
                    self.cache
                        .set(&key, rooms.iter().map(|r| (*r).to_owned()).collect());
                }
                deliveries
            }
        }
    }

    /// Builds the deliveries of a change to the channels of `rooms`. `result` builds the
    /// notification's result only when a channel receives it, because it copies the source.
    fn document_deliveries<R: AsRef<str>>(
        &self,
        change: &DocumentChange,
        rooms: &[R],
        scope: Scope,
        result: impl FnOnce() -> Value,
    ) -> Vec<Delivery> {
        let mut channels = Vec::new();
        for room_id in rooms {
            let Some(room) = self.rooms.get(room_id.as_ref()) else {
                continue;
            };
            for (name, channel) in &room.channels {
                let reachable = !change.from_cluster || channel.propagate;
                if channel.scope.accepts(scope) && reachable {
                    channels.push((name, channel));
                }
            }
        }
        if channels.is_empty() {
            return Vec::new();
        }
        let notification = document_notification(change, scope, result(), &self.config.node_id);
        channels
            .into_iter()
            .map(|(name, channel)| Delivery {
                channel: name.clone(),
                connection_ids: channel.connections.iter().cloned().collect(),
                notification: for_channel(&notification, name),
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "rooms_tests.rs"]
mod tests;
