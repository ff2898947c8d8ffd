//! WebAssembly plugins in the server: loading the plugins folder, hot reload, plugin controllers
//! and the lifecycle events that pipes and hooks listen to.

mod convert;
pub mod events;
mod generic;
mod load;
mod outbound;
mod plan;
mod services;
mod set;
mod settings;
mod store;
mod strategies;
mod tcp;
mod tls;
mod watch;

#[cfg(test)]
mod network_tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_api::{ApiError, ApiResult, Request};
use palisade_plugins::{PluginHost, PluginHostConfig};
use palisade_security::User;
use parking_lot::RwLock;
use serde_json::{Value, json};

pub use set::{LoadedPlugin, PluginSet, kebab_case};
pub use strategies::{LoginOutcome, PluginStrategy};

use crate::config::Config;
use crate::state::ServerState;

/// Hook event emitted once the plugins of the folder are loaded, before the server listens.
pub const START_EVENT: &str = "core:kuzzleStart";

/// Hook event emitted when a graceful shutdown starts; the server waits for its hooks, up to
/// `server.shutdownTimeout`.
pub const SHUTDOWN_EVENT: &str = "core:shutdown";

/// The plugins of the plugins folder and the current [`PluginSet`].
#[derive(Debug)]
pub struct PluginManager {
    host: Result<PluginHost, String>,
    folder: PathBuf,
    config: crate::config::PluginsSettings,
    current: RwLock<Arc<PluginSet>>,
    /// Load errors by file name, shown by `server:info`.
    errors: RwLock<BTreeMap<String, String>>,
    /// Held while the folder is scanned, so two scans never race on one file.
    scanning: tokio::sync::Mutex<watch::FolderState>,
    /// The plugins' short-lived values, kept across reloads.
    store: Arc<store::PluginStore>,
}

impl PluginManager {
    /// Creates the plugin engine for a configuration. Nothing is loaded before [`Self::start`].
    pub fn new(config: &Config) -> Self {
        let plugins = &config.plugins;
        let cache_dir = if plugins.cache_dir.as_os_str().is_empty() {
            config.data_dir.join("plugins-cache")
        } else {
            plugins.cache_dir.clone()
        };
        let host = PluginHost::new(PluginHostConfig {
            max_memory_bytes: plugins.memory_limit.as_usize(),
            call_timeout: Duration::from_millis(plugins.call_timeout.max(1)),
            max_instances: plugins.max_instances,
            cache_dir: Some(cache_dir),
            ..PluginHostConfig::default()
        })
        .map_err(|error| error.to_string());
        Self {
            host,
            folder: config.plugins_dir.clone(),
            config: plugins.clone(),
            current: RwLock::new(Arc::new(PluginSet::default())),
            errors: RwLock::new(BTreeMap::new()),
            scanning: tokio::sync::Mutex::new(watch::FolderState::default()),
            store: Arc::default(),
        }
    }

    /// Returns the plugins loaded right now. Keep the returned set for the whole request, so it runs on
    /// one version of each plugin.
    pub fn snapshot(&self) -> Arc<PluginSet> {
        Arc::clone(&self.current.read())
    }

    /// Loads every plugin of the folder, then watches it for changes every
    /// `plugins.watchInterval` milliseconds.
    pub async fn start(state: &Arc<ServerState>) {
        let manager = &state.plugins;
        if let Err(error) = &manager.host {
            tracing::error!(%error, "plugin engine unavailable: no plugin will load");
            return;
        }
        manager.scan(state).await;
        manager.emit(START_EVENT, json!({"nodeId": state.node_id}));
        if manager.config.watch_interval > 0 {
            watch::spawn(
                Arc::downgrade(state),
                Duration::from_millis(manager.config.watch_interval),
            );
        }
    }

    /// Runs the hooks of a server event, such as `core:realtime:user:subscribe:after`, in the
    /// background.
    pub fn emit(&self, event: &str, payload: Value) -> Option<tokio::task::JoinHandle<()>> {
        events::run_server_hooks(self.snapshot(), event, payload)
    }

    /// Compares the folder with what is loaded: loads new and changed files, unloads deleted
    /// ones.
    pub async fn scan(&self, state: &Arc<ServerState>) {
        let mut folder = self.scanning.lock().await;
        let changes = folder.changes(&self.folder);
        for change in changes {
            match change {
                watch::Change::Removed(path) => self.unload(state, &path),
                watch::Change::Changed(path) => self.reload(state, &path, &mut folder).await,
            }
        }
    }

    async fn reload(&self, state: &Arc<ServerState>, path: &Path, folder: &mut watch::FolderState) {
        let file = file_name(path);
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                return self.record_error(&file, format!("cannot read the file: {error}"));
            }
        };
        if folder.has_same_content(path, &bytes) {
            return;
        }
        let Ok(host) = &self.host else {
            return;
        };

        let settings = match settings::PluginSettings::read(path, &self.config) {
            Ok(settings) => settings,
            Err(error) => return self.record_error(&file, error),
        };
        let tls = match tls::client_config(&settings.tls, &self.folder) {
            Ok(tls) => tls,
            Err(error) => return self.record_error(&file, error),
        };
        let services = Arc::new(services::ServerServices {
            state: Arc::downgrade(state),
            runtime: tokio::runtime::Handle::current(),
            settings: settings.clone(),
            tls,
            store: Arc::clone(&self.store),
        });
        let (host, owned_path, config) = (host.clone(), path.to_owned(), self.config.clone());
        let started = std::time::Instant::now();
        let loaded = tokio::task::spawn_blocking(move || {
            load::load(&host, &owned_path, &bytes, &config, settings, services)
                .map(|loaded| (loaded, bytes))
        })
        .await
        .unwrap_or_else(|error| Err(format!("loading panicked: {error}")));

        let (loaded, bytes) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => return self.record_error(&file, error),
        };
        match self.swap_in(state, Arc::new(loaded)) {
            Ok(plugin) => {
                folder.record_content(path, &bytes);
                self.errors.write().remove(&file);
                tracing::info!(
                    plugin = %plugin.name,
                    version = %plugin.manifest.version,
                    file,
                    compiled_from_cache = plugin.compiled_from_cache,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "plugin loaded"
                );
            }
            Err(error) => self.record_error(&file, error),
        }
    }

    /// Replaces the plugin loaded from the same file, or adds it, if its names clash with
    /// nothing else.
    fn swap_in(
        &self,
        state: &ServerState,
        plugin: Arc<LoadedPlugin>,
    ) -> Result<Arc<LoadedPlugin>, String> {
        // Scans hold `scanning`, so no other swap runs meanwhile, and the new set is built
        // before the write lock: requests keep taking the current set until the swap.
        let current = self.snapshot();
        let mut plugins: BTreeMap<String, Arc<LoadedPlugin>> = current
            .plugins
            .iter()
            .filter(|(_, loaded)| loaded.file != plugin.file)
            .map(|(name, loaded)| (name.clone(), Arc::clone(loaded)))
            .collect();

        if let Some(other) = plugins.get(&plugin.name) {
            return Err(format!(
                "a plugin named \"{}\" is already loaded from {}: rename one of them",
                plugin.name,
                other.file.display()
            ));
        }
        for controller in &plugin.manifest.controllers {
            if state.controllers.has_controller(&controller.name) {
                return Err(format!(
                    "controller \"{}\" clashes with the native controller of that name: rename it",
                    controller.name
                ));
            }
            let owner = plugins.values().find(|other| {
                other
                    .manifest
                    .controllers
                    .iter()
                    .any(|c| c.name == controller.name)
            });
            if let Some(owner) = owner {
                return Err(format!(
                    "controller \"{}\" is already provided by plugin \"{}\": rename one of them",
                    controller.name, owner.name
                ));
            }
        }

        check_strategies(&plugin, &plugins)?;

        plugins.insert(plugin.name.clone(), Arc::clone(&plugin));
        let set = Arc::new(PluginSet::new(plugins, &native_actions(state)));
        *self.current.write() = set;
        Ok(plugin)
    }

    fn unload(&self, state: &ServerState, path: &Path) {
        let file = file_name(path);
        self.errors.write().remove(&file);
        let current = self.snapshot();
        let Some(name) = current
            .plugins
            .values()
            .find(|loaded| loaded.file == path)
            .map(|loaded| loaded.name.clone())
        else {
            return;
        };
        let mut plugins = current.plugins.clone();
        plugins.remove(&name);
        let set = Arc::new(PluginSet::new(plugins, &native_actions(state)));
        *self.current.write() = set;
        tracing::info!(plugin = %name, file, "plugin unloaded: its file was removed");
    }

    fn record_error(&self, file: &str, error: String) {
        tracing::error!(file, %error, "plugin not loaded; the previous version, if any, keeps serving");
        self.errors.write().insert(file.to_owned(), error);
    }

    /// Describes the loaded plugins and the load errors, for `server:info`.
    pub fn describe(&self) -> Value {
        let set = self.snapshot();
        let mut plugins = serde_json::Map::new();
        for plugin in set.plugins.values() {
            let manifest = &plugin.manifest;
            let controllers: Vec<Value> = manifest
                .controllers
                .iter()
                .map(|controller| {
                    let actions: Vec<&str> =
                        controller.actions.iter().map(|a| a.name.as_str()).collect();
                    json!({"name": controller.name, "actions": actions})
                })
                .collect();
            let strategies: Vec<&str> = manifest
                .strategies
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            plugins.insert(
                plugin.name.clone(),
                json!({
                    "manifest": {"name": manifest.name, "version": manifest.version},
                    "file": file_name(&plugin.file),
                    "hash": plugin.hash,
                    "loadedAt": plugin.loaded_at,
                    "controllers": controllers,
                    "pipes": manifest.pipes,
                    "hooks": manifest.hooks,
                    "strategies": strategies,
                }),
            );
        }
        let errors: serde_json::Map<String, Value> = self
            .errors
            .read()
            .iter()
            .map(|(file, error)| (file.clone(), Value::from(error.as_str())))
            .collect();
        json!({"plugins": plugins, "loadErrors": errors})
    }
}

/// Runs a request's action: a native controller's, or a plugin controller's in a fresh
/// instance on a blocking thread.
///
/// # Errors
///
/// `api.process.controller_not_found` or `action_not_found`, the failure of the plugin call,
/// or the action's own error.
pub async fn dispatch(state: &ServerState, request: &Arc<Request>, user: &Arc<User>) -> ApiResult {
    if state.controllers.has_controller(&request.controller) {
        return state.controllers.dispatch(state, request).await;
    }
    let set = state.plugins.snapshot();
    let Some(plugin) = set.controller(&request.controller).cloned() else {
        return Err(ApiError::controller_not_found(&request.controller));
    };
    if !set.has_action(&request.controller, &request.action) {
        return Err(ApiError::action_not_found(
            &request.controller,
            &request.action,
        ));
    }

    let record = convert::lent_request(request, user);
    let name = plugin.name.clone();
    let returned = run_blocking(move || plugin.plugin.handle(&record))
        .await?
        .map_err(|error| convert::host_error(&error))?
        .map_err(convert::guest_error)?;
    convert::response(&name, returned)
}

/// Runs a plugin call, which blocks its thread until the guest returns or its deadline passes.
///
/// On the multi-threaded runtime the call runs on the current worker thread: a typical call
/// takes a few microseconds, less than the two thread switches of a blocking-pool task (about
/// 25 µs on the 2-core machine of BENCHMARKS.md). The epoch deadline bounds how long a guest can
/// hold the worker, and the host functions that wait (`api.call`, `http.send`) hand the worker's
/// other tasks to another thread first. Elsewhere the call runs on the blocking pool.
///
/// NOTE: a guest that runs until its deadline delays the other tasks of its worker thread by up
/// to `callTimeout`; the other workers keep serving.
pub(crate) async fn run_blocking<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    if flavor == tokio::runtime::RuntimeFlavor::MultiThread {
        return Ok(call());
    }
    tokio::task::spawn_blocking(call)
        .await
        .map_err(ApiError::internal)
}

/// Lists the `(controller, action)` pairs of the native controllers.
fn native_actions(state: &ServerState) -> Vec<(&'static str, &'static str)> {
    let controllers = state.controllers.iter();
    controllers
        .flat_map(|controller| {
            let name = controller.name();
            controller
                .actions()
                .iter()
                .map(move |action| (name, *action))
        })
        .collect()
}

/// Checks that a plugin's strategies clash with neither `local` nor another plugin's.
fn check_strategies(
    plugin: &LoadedPlugin,
    others: &BTreeMap<String, Arc<LoadedPlugin>>,
) -> Result<(), String> {
    for strategy in &plugin.manifest.strategies {
        if strategy.name == palisade_security::local::LOCAL_STRATEGY {
            return Err(format!(
                "strategy \"{}\" clashes with the built-in strategy of that name: rename it",
                strategy.name
            ));
        }
        let owner = others.values().find(|other| {
            other
                .manifest
                .strategies
                .iter()
                .any(|declared| declared.name == strategy.name)
        });
        if let Some(owner) = owner {
            return Err(format!(
                "strategy \"{}\" is already provided by plugin \"{}\": rename one of them",
                strategy.name, owner.name
            ));
        }
        if !plugin.plugin.has_strategy() {
            return Err(format!(
                "the manifest declares strategy \"{}\" but the component does not export the \
                 `strategy` interface: build it for the `strategy-plugin` world",
                strategy.name
            ));
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}
