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
use crate::plugins::PluginManager;
use crate::realtime::RealtimeHub;
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
    /// Realtime subscriptions of this node's connections.
    pub realtime: RealtimeHub,
    /// When the server started.
    pub started_at: Instant,
    /// Users, rights, tokens and credentials, stored in the document store's internal index.
    pub security: SecurityLayer,
    /// Notified by `admin:shutdown`; the binary then stops as on SIGTERM.
    pub shutdown_requested: tokio::sync::Notify,
    /// The WebAssembly plugins of the plugins folder.
    pub plugins: PluginManager,
}

impl ServerState {
    /// Builds the state for a configuration, opening the document store.
    ///
    /// Blocking: opening the store may replay writes into its search indexes, so call it from
    /// `spawn_blocking` inside the async runtime, which it also uses to open the security layer.
    ///
    /// # Errors
    ///
    /// The storage, security or I/O error when the data folder cannot be opened.
    pub fn open(config: Config) -> Result<Arc<Self>, OpenError> {
        let engine = EmbeddedEngine::open(EngineConfig::new(config.data_dir.join("storage")))?;
        let storage: Arc<dyn DocumentStore> = Arc::new(engine);
        let security = tokio::runtime::Handle::current()
            .block_on(SecurityLayer::open(storage.clone(), &config))?;
        let funnel = Funnel::new(&config.limits);
        let connections = Connections::new(config.websocket.max_backpressure);
        let node_id = node_id();
        let realtime = RealtimeHub::open(&config, &node_id)?;
        let state = Arc::new(Self {
            storage,
            security,
            realtime,
            shutdown_requested: tokio::sync::Notify::new(),
            plugins: PluginManager::new(&config),
            node_id,
            router: Router::new(RouteTable::kuzzle()),
            controllers: Controllers::native(),
            funnel,
            metrics: Metrics::default(),
            connections,
            started_at: Instant::now(),
            config,
        });
        state.security.expiry.attach(&state);
        state.drop_subscriptions_on_token_expiry();
        Ok(state)
    }

    /// Runs one request through the funnel and its controller action.
    pub async fn execute(&self, request: &Arc<Request>) -> ApiResult {
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
    /// Runs a request made by a plugin: the same checks and events as a client's request, but
    /// outside the concurrency limit, because the plugin call that makes it already holds a slot
    /// and waiting for a second one could deadlock.
    pub async fn execute_internal(&self, request: &Arc<Request>) -> ApiResult {
        self.funnel.run_internal(self, request).await
    }

    /// Returns whether `controller:action` exists, native or provided by a plugin.
    pub fn has_action(&self, controller: &str, action: &str) -> bool {
        self.controllers.has_action(controller, action)
            || self.plugins.snapshot().has_action(controller, action)
    }

    /// Hands a document change to the realtime engine, which notifies the subscribers whose
    /// filters match. Called by every write action unless the request is `silent`, in the order
    /// the writes were applied. It never waits: matching runs in memory and each notification
    /// is queued on its connection without blocking.
    pub fn notify_document(&self, change: DocumentChange) {
        self.realtime.update(&self.connections, |registry| {
            ((), registry.notify_document(&change))
        });
    }
}

/// Why the server state could not be built from the data folder.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The document store failed to open.
    #[error(transparent)]
    Storage(#[from] palisade_storage::StorageError),
    /// The realtime room id seed could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The security layer (default roles, the token secret) could not be set up.
    #[error("cannot open the security layer: {0}")]
    Security(#[from] palisade_security::SecurityError),
}

/// Generates a node id in Kuzzle's `knode-<name>-<n>` shape, unique per start.
fn node_id() -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("knode-palisade-{}", &suffix[..8])
}
