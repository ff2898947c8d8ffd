//! One WebSocket connection: a reader loop that decodes frames and spawns requests, and a
//! writer task that drains the connection's bounded outgoing queue.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use palisade_api::{ApiError, ErrorId, envelope, error_envelope};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{Instrument, debug, info, info_span};

use super::frame::{self, Frame};
use super::rate_limit::RateLimit;
use crate::connections::{ConnectionHandle, Outgoing};
use crate::state::ServerState;

/// Time allowed to write one frame before the client is considered gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to send the close frame and flush what is queued when the server closes a socket.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The close code and reason of a socket the server closes.
#[derive(Debug)]
struct Closing {
    code: u16,
    reason: &'static str,
}

/// Runs a connection until the client leaves, it idles, it overflows, or the server stops.
pub async fn run(state: Arc<ServerState>, socket: WebSocket, peer: SocketAddr) {
    let connection_id = format!("ws-{}", palisade_api::new_request_id());
    let span = info_span!("palisade.websocket", connection_id = %connection_id, peer = %peer);

    async {
        debug!("websocket connected");
        state.metrics.websocket_connections_add(1);
        let mut registration = state.connections.register(&connection_id);
        let (sink, stream) = socket.split();

        let (close_sender, close_receiver) = oneshot::channel();
        let mut writer = tokio::spawn(
            write_loop(
                sink,
                registration.receiver,
                registration.overflow.clone(),
                close_receiver,
            )
            .in_current_span(),
        );

        let reader = Reader {
            state: &state,
            handle: &registration.handle,
            connection_id: &connection_id,
        };
        let closing = tokio::select! {
            closing = reader.run(stream, &mut registration.shutdown) => Some(closing),
            _ = &mut writer => None,
        };

        if let Some(closing) = closing {
            debug!(
                code = closing.code,
                reason = closing.reason,
                "closing websocket"
            );
            let _ = close_sender.send(closing);
            let _ = tokio::time::timeout(CLOSE_TIMEOUT * 2, writer).await;
        }
        // Unregister first: a subscribe still running then sees the connection closed and
        // drops its own subscription (see `ServerState::drop_subscriptions_if_closed`).
        state.connections.unregister(&connection_id);
        state.drop_subscriptions(&connection_id);
        state.security.expiry.unlink(&connection_id, None);
        state.metrics.websocket_connections_add(-1);
        debug!("websocket disconnected");
    }
    .instrument(span)
    .await;
}

struct Reader<'a> {
    state: &'a Arc<ServerState>,
    handle: &'a ConnectionHandle,
    connection_id: &'a str,
}

impl Reader<'_> {
    async fn run(
        &self,
        mut stream: SplitStream<WebSocket>,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Closing {
        let idle = Duration::from_millis(self.state.config.websocket.idle_timeout);
        let mut rate_limit = RateLimit::new(self.state.config.websocket.rate_limit);

        loop {
            let next = tokio::select! {
                _ = shutdown.changed() => {
                    return Closing { code: close_code::AWAY, reason: "server shutting down" };
                }
                next = tokio::time::timeout(idle, stream.next()) => next,
            };

            let message = match next {
                Err(_) => {
                    return Closing {
                        code: close_code::NORMAL,
                        reason: "idle timeout",
                    };
                }
                Ok(None) => {
                    return Closing {
                        code: close_code::NORMAL,
                        reason: "client left",
                    };
                }
                Ok(Some(Err(error))) => {
                    debug!(%error, "websocket read failed");
                    return Closing {
                        code: close_code::SIZE,
                        reason: "invalid or oversized frame",
                    };
                }
                Ok(Some(Ok(message))) => message,
            };

            match message {
                Message::Text(text) => self.on_text(text.as_str(), &mut rate_limit),
                Message::Binary(_) => self.send_error(
                    None,
                    ApiError::new(
                        ErrorId::NetworkWebsocketUnexpectedError,
                        "Binary frames are not supported: send JSON requests as text frames.",
                    ),
                ),
                Message::Close(_) => {
                    return Closing {
                        code: close_code::NORMAL,
                        reason: "client closed",
                    };
                }
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    fn on_text(&self, text: &str, rate_limit: &mut RateLimit) {
        let max_size = self.state.config.server.max_request_size.as_usize();
        let decoded = frame::decode(text, max_size, self.connection_id);

        if !matches!(decoded, Frame::Empty | Frame::Heartbeat) && !rate_limit.allow(Instant::now())
        {
            let request_id = match &decoded {
                Frame::Request(request) => Some(request.request_id.clone()),
                Frame::Invalid(id, _) => id.clone(),
                _ => None,
            };
            let error = ApiError::new(
                ErrorId::NetworkWebsocketRatelimitExceeded,
                format!(
                    "Too many messages on this socket: the limit is {} per second \
                     (websocket.rateLimit). Slow down.",
                    self.state.config.websocket.rate_limit
                ),
            );
            self.send_error(request_id, error);
            return;
        }

        match decoded {
            Frame::Empty => {}
            Frame::Heartbeat => {
                self.handle
                    .push(Outgoing::Text(json!({"p": 2}).to_string()));
            }
            Frame::Invalid(request_id, error) => self.send_error(request_id, error),
            Frame::Request(request) => {
                let state = self.state.clone();
                let handle = self.handle.clone();
                let request = Arc::<palisade_api::Request>::from(request);
                tokio::spawn(async move {
                    let outcome = state.execute(&request).await;
                    let body = envelope(&request, outcome, &state.node_id, true);
                    handle.push(Outgoing::Text(palisade_api::json_text(&body)));
                });
            }
        }
    }

    fn send_error(&self, request_id: Option<String>, error: ApiError) {
        let body: Value = error_envelope(request_id.as_deref(), &error, &self.state.node_id);
        self.handle
            .push(Outgoing::Text(palisade_api::json_text(&body)));
    }
}

/// Sends queued messages in order. On overflow it closes the socket with 1011; on a close
/// request it flushes what is queued, then sends the close frame.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Outgoing>,
    overflow: Arc<Notify>,
    mut close: oneshot::Receiver<Closing>,
) {
    let closing = loop {
        tokio::select! {
            biased;
            _ = overflow.notified() => {
                info!(reason = "too much backpressure", "websocket client too slow, closing");
                break Closing { code: close_code::ERROR, reason: "too much backpressure" };
            }
            closing = &mut close => {
                let closing = closing.unwrap_or(Closing { code: close_code::NORMAL, reason: "closed" });
                let flush = async {
                    while let Ok(message) = queue.try_recv() {
                        if send(&mut sink, message).await.is_err() {
                            return;
                        }
                    }
                };
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, flush).await;
                break closing;
            }
            message = queue.recv() => match message {
                Some(message) => {
                    if send(&mut sink, message).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
        }
    };

    let frame = CloseFrame {
        code: closing.code,
        reason: closing.reason.into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
}

async fn send(sink: &mut SplitSink<WebSocket, Message>, message: Outgoing) -> Result<(), ()> {
    let Outgoing::Text(text) = message;
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
