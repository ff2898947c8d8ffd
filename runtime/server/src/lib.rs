//! The Palisade server: configuration, protocols, the request funnel and the native controllers.
//!
//! A protocol adapter (HTTP in [`http`], WebSocket in [`ws`]) decodes bytes into one
//! [`palisade_api::Request`], hands it to [`ServerState::execute`], and encodes the outcome.
//! Everything between (limits, dispatch, metrics) is shared by every protocol.

pub mod config;
mod connections;
mod controllers;
pub mod errors;
mod funnel;
mod http;
mod metrics;
mod openapi;
pub mod plugins;
mod realtime;
mod routes;
pub mod security;
mod server;
mod state;
mod ws;

pub use config::Config;
pub use server::{RunningServer, start};
pub use state::ServerState;
