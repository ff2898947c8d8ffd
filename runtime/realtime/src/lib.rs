//! Palisade's realtime engine: Koncorde-compatible filters, indexed matching, rooms, channels
//! and notifications.
//!
//! The crate has no networking. A server registers subscriptions for its connections, feeds
//! document changes in, and sends the returned notification objects to the listed connections.
//!
//! ```
//! use palisade_realtime::{
//!     DocumentAction, DocumentChange, Origin, Realtime, RealtimeConfig, RequestContext,
//!     SubscriptionOptions,
//! };
//! use serde_json::json;
//!
//! let mut realtime = Realtime::new(RealtimeConfig::default(), None);
//! let origin = Origin { protocol: "websocket".into(), timestamp: 0 };
//! let filter = json!({"range": {"age": {"gte": 18}}});
//! let options = SubscriptionOptions::from_args(Some("in"), None, json!(null))?;
//! let subscribed = realtime.subscribe("connection-1", "shop", "users", &filter, options, &origin)?;
//!
//! let change = DocumentChange {
//!     index: "shop".into(),
//!     collection: "users".into(),
//!     id: Some("alice".into()),
//!     action: DocumentAction::Create,
//!     old_source: None,
//!     new_source: Some(json!({"age": 30})),
//!     version: Some(1),
//!     request: RequestContext {
//!         request_id: "request-1".into(),
//!         timestamp: 0,
//!         volatile: json!(null),
//!         protocol: "http".into(),
//!         controller: "document".into(),
//!     },
//!     from_cluster: false,
//! };
//! let deliveries = realtime.notify_document(&change);
//! assert_eq!(deliveries[0].connection_ids, ["connection-1"]);
//! assert_eq!(deliveries[0].notification["room"], json!(subscribed.channel));
//! # Ok::<(), palisade_realtime::RealtimeError>(())
//! ```

mod cache;
mod channel;
mod engine;
mod error;
pub mod filter;
pub mod geo;
mod json;
mod notification;
mod rooms;

pub use cache::{DocumentRoomCache, MemoryRoomCache, document_key};
pub use channel::{Scope, Users, channel_name};
pub use engine::{Engine, EngineConfig, EngineStats, FilterEngine, MatchedIds, NormalizedFilter};
pub use error::{RealtimeError, Result};
pub use json::FlatDocument;
pub use notification::{
    Delivery, DocumentAction, DocumentChange, RequestContext, SERVER_CHANNEL, UserAction,
    token_expired_notification,
};
pub use rooms::{Origin, Realtime, RealtimeConfig, RoomList, Subscribed, SubscriptionOptions};
