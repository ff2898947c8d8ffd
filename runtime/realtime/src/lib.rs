//! Palisade's realtime engine: Koncorde-compatible filters, indexed matching, rooms, channels
//! and notifications.
//!
//! The crate has no networking. A server registers subscriptions for its connections, feeds
//! document changes in, and sends the returned notification objects to the listed connections.

mod engine;
mod error;
pub mod filter;
pub mod geo;
mod json;

pub use engine::{Engine, EngineConfig, EngineStats, FilterEngine, NormalizedFilter};
pub use error::{RealtimeError, Result};
pub use json::FlatDocument;
