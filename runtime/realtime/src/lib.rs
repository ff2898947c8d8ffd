//! Palisade's realtime engine: Koncorde-compatible filters, indexed matching, rooms, channels
//! and notifications.
//!
//! The crate has no networking. A server registers subscriptions for its connections, feeds
//! document changes in, and sends the returned notification objects to the listed connections.

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
pub use engine::{Engine, EngineConfig, EngineStats, FilterEngine, NormalizedFilter};
pub use error::{RealtimeError, Result};
pub use json::FlatDocument;
pub use notification::{
    Delivery, DocumentAction, DocumentChange, RequestContext, SERVER_CHANNEL, UserAction,
    token_expired_notification,
};
pub use rooms::{Origin, Realtime, RealtimeConfig, RoomList, Subscribed, SubscriptionOptions};
