//! Starts the server on its address and stops it gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::Config;
use crate::http;
use crate::state::ServerState;

/// A server accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address (useful when the configured port is 0).
    pub address: SocketAddr,
    /// The shared state.
    pub state: Arc<ServerState>,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
}

/// Binds the configured address and starts serving HTTP and WebSocket on it.
///
/// # Errors
///
/// The I/O error when the address cannot be bound.
pub async fn start(config: Config) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(config.address()).await.map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot listen on {}: {error}", config.address()),
        )
    })?;
    let address = listener.local_addr()?;
    let state = tokio::task::spawn_blocking(move || ServerState::open(config))
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;

    crate::plugins::PluginManager::start(&state).await;

    let (stop, stopped) = oneshot::channel::<()>();
    let app = http::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    info!(%address, node_id = %state.node_id, "palisade listening on http://{address} (HTTP and WebSocket)");
    Ok(RunningServer {
        address,
        state,
        stop,
        serving,
    })
}

impl RunningServer {
    /// Stops gracefully: new requests are rejected, in-flight requests finish (up to
    /// `server.shutdownTimeout`), WebSocket clients get a close frame, then the listener closes.
    pub async fn shutdown(self) {
        let timeout = Duration::from_millis(self.state.config.server.shutdown_timeout);
        info!("shutting down");
        let event = serde_json::json!({"nodeId": self.state.node_id});
        if let Some(hooks) = self
            .state
            .plugins
            .emit(crate::plugins::SHUTDOWN_EVENT, event)
            && tokio::time::timeout(timeout, hooks).await.is_err()
        {
            warn!("shutdown hooks did not finish in time");
        }

        if !self.state.funnel.drain(timeout).await {
            warn!(
                timeout_ms = timeout.as_millis() as u64,
                "in-flight requests did not finish in time"
            );
        }
        if !self.state.connections.close_all(timeout).await {
            warn!(
                open = self.state.connections.len(),
                "websocket connections did not close in time"
            );
        }

        let _ = self.stop.send(());
        match tokio::time::timeout(timeout, self.serving).await {
            Ok(Ok(Ok(()))) => info!("stopped"),
            Ok(Ok(Err(error))) => warn!(%error, "listener failed while stopping"),
            Ok(Err(error)) => warn!(%error, "server task failed"),
            Err(_) => warn!("HTTP connections did not close in time"),
        }
    }
}
