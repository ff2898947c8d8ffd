//! The WebSocket protocol: one JSON request per text frame. Each response goes back on the same
//! socket with `room` set to the request id.

mod connection;
mod frame;
mod rate_limit;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::WebSocketUpgrade;
use axum::response::Response;
use tracing::debug;

use crate::state::ServerState;

/// Frames above `server.maxRequestSize` get an error response. Frames above this many times
/// the limit are not read at all, and the socket is closed with code 1009 (message too big).
const HARD_FRAME_LIMIT_FACTOR: usize = 4;

/// Maximum bytes per socket read. The WebSocket codec zeroes this much of its buffer before every
/// read, and its default of 128 KiB evicted the request path from the CPU caches on each request.
/// Larger messages still arrive whole, in more reads.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// Accepts a WebSocket upgrade and runs the connection.
pub fn upgrade(state: Arc<ServerState>, upgrade: WebSocketUpgrade, peer: SocketAddr) -> Response {
    let hard_limit = state
        .config
        .server
        .max_request_size
        .as_usize()
        .saturating_mul(HARD_FRAME_LIMIT_FACTOR);
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_failed_upgrade(|error| debug!(%error, "websocket upgrade failed"))
        .on_upgrade(move |socket| connection::run(state, socket, peer))
}
