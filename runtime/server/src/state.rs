//! The state shared by every protocol and controller.

use std::sync::Arc;
use std::time::Instant;

use palisade_api::{ApiResult, Request};
use palisade_realtime::DocumentChange;
use palisade_storage::{DocumentStore, EmbeddedEngine, EngineConfig};

use crate::config::Config;
use crate::connections::Connections;
use crate::controllers::Controllers;
use crate::funnel::Funnel;
use crate::metrics::Metrics;
use crate::routes::{RouteTable, Router};
use crate::security::SecurityLayer;

/// The server's shared state: configuration, controllers, limits and counters.
#[derive(Debug)]
pub struct ServerState {
    /// The effective configuration.
    pub config: Config,
    /// This node's id, sent in every response as `node` and `X-Kuzzle-Node`.
    pub node_id: String,
    /// The HTTP router over the route table.
    pub router: Router,
    /// The native controllers.
    pub controllers: Controllers,
    /// Request limits and the queue.
    pub funnel: Funnel,
    /// Prometheus counters.
    pub metrics: Metrics,
    /// Open WebSocket connections, for pushing messages and closing them on shutdown.
    pub connections: Connections,
    /// The document store: the embedded engine in `dataDir/storage`.
    pub storage: Arc<dyn DocumentStore>,
    /// When the server started.
    pub started_at: Instant,
    /// Users, rights, tokens and credentials, stored in the document store's internal index.
    pub security: SecurityLayer,
    /// Notified by `admin:shutdown`; the binary then stops as on SIGTERM.
    pub shutdown_requested: tokio::sync::Notify,
}

impl ServerState {
    /// Builds the state for a configuration, opening the document store.
    ///
    /// Blocking: opening the store may replay writes into its search indexes, so call it from
    /// `spawn_blocking` inside the async runtime, which it also uses to open the security layer.
    ///
    /// # Errors
    ///
    /// A message naming what failed: the data folder or the security layer.
    pub fn open(config: Config) -> Result<Arc<Self>, String> {
        let engine = EmbeddedEngine::open(EngineConfig::new(config.data_dir.join("storage")))
            .map_err(|error| format!("cannot open the data folder: {error}"))?;
        let storage: Arc<dyn DocumentStore> = Arc::new(engine);
        let security = tokio::runtime::Handle::current()
            .block_on(SecurityLayer::open(storage.clone(), &config))
            .map_err(|error| format!("cannot open the security layer: {error}"))?;
        let funnel = Funnel::new(&config.limits);
        let connections = Connections::new(config.websocket.max_backpressure);
        let state = Arc::new(Self {
            storage,
            security,
            shutdown_requested: tokio::sync::Notify::new(),
            node_id: node_id(),
            router: Router::new(RouteTable::kuzzle()),
            controllers: Controllers::native(),
            funnel,
            metrics: Metrics::default(),
            connections,
            started_at: Instant::now(),
            config,
        });
        state.security.expiry.attach(&state);
        Ok(state)
    }

    /// Runs one request through the funnel and its controller action.
    pub async fn execute(&self, request: &Request) -> ApiResult {
        let started = Instant::now();
        let outcome = self.funnel.run(self, request).await;

        let status = match &outcome {
            Ok(response) => response.status,
            Err(error) => error.status(),
        };
        self.metrics.record_request(
            &request.controller,
            &request.action,
            status,
            started.elapsed(),
        );
        outcome
    }
}

impl ServerState {
    /// Hands a document change to the realtime engine, which notifies the subscribers whose
    /// filters match. Called by every write action unless the request is `silent`, in the order
    /// the writes were applied.
    ///
    /// TODO(realtime): subscriptions are not wired yet, so there is no subscriber to notify.
    pub fn notify_document(&self, change: DocumentChange) {
        drop(change);
    }
}

/// A node id in Kuzzle's `knode-<name>-<n>` shape, unique per start.
fn node_id() -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("knode-palisade-{}", &suffix[..8])
}
