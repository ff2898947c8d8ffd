//! The engine, the per-call stores and the plugins they run.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::thread::ThreadId;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    Trap,
};

use crate::bindings::{Plugin as PluginBindings, PluginIndices, PluginPre};
use crate::strategy_bindings::exports::palisade::plugin::strategy;
use crate::tcp::Connections;
use crate::{
    ApiError, DenyAll, HostServices, Manifest, PluginError, PluginFailure, Request, Response,
    cache, request,
};

/// Instances of one plugin kept ready for its next calls. Instantiating costs more than the call
/// itself for most guests (about a millisecond for a JavaScript engine, measured in this crate's
/// tests), so a successful call returns its instance here. A failed call drops it.
const IDLE_INSTANCES: usize = 8;

/// Largest number of elements a table of a plugin instance may grow to.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Core instances and tables reserved in the pool for each component instance. A component made
/// by `wit-component` instantiates its main module plus, for imports that need the guest's
/// allocator, a shim and a fixup module. The pool limits are totals, so a component with more core
/// instances still runs while the pool has room.
const CORE_INSTANCES_PER_COMPONENT: u32 = 4;

/// Limits and settings of a [`PluginHost`].
#[derive(Debug, Clone)]
pub struct PluginHostConfig {
    /// Maximum size of the linear memory of one plugin instance, in bytes. Growing beyond it traps.
    pub max_memory_bytes: usize,
    /// Execution deadline of one call, instantiation included.
    pub call_timeout: Duration,
    /// Interval between two epoch increments. A timed-out call is interrupted up to about one
    /// tick after its deadline.
    pub epoch_tick: Duration,
    /// Maximum number of plugin instances alive at the same time, over all plugins. The pooling
    /// allocator reserves their memory slots when the host starts.
    pub max_instances: u32,
    /// Folder of the compiled-code cache, or `None` to compile every component on each load.
    pub cache_dir: Option<PathBuf>,
}

impl Default for PluginHostConfig {
    fn default() -> Self {
        Self {
            max_memory_bytes: 64 * 1024 * 1024,
            call_timeout: Duration::from_secs(5),
            epoch_tick: Duration::from_millis(10),
            max_instances: 100,
            cache_dir: None,
        }
    }
}

/// Compiles plugin components and shares one engine, linker and epoch ticker among them.
#[derive(Clone)]
pub struct PluginHost {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    linker: Linker<InstanceState>,
    config: PluginHostConfig,
    /// Epoch ticks given to each call; see [`deadline_ticks`].
    deadline_ticks: u64,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Creates the engine (Cranelift, pooling allocator, epoch interruption), links the host
    /// imports and starts the thread that advances the epoch.
    pub fn new(config: PluginHostConfig) -> Result<Self, PluginError> {
        let engine_error = |message: String| PluginError::Engine { message };
        if config.epoch_tick.is_zero() {
            return Err(engine_error(
                "epoch_tick must be greater than zero".to_owned(),
            ));
        }

        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_component_instances(config.max_instances)
            .total_core_instances(
                config
                    .max_instances
                    .saturating_mul(CORE_INSTANCES_PER_COMPONENT),
            )
            .total_memories(config.max_instances)
            .total_tables(
                config
                    .max_instances
                    .saturating_mul(CORE_INSTANCES_PER_COMPONENT),
            )
            .max_memory_size(config.max_memory_bytes);

        let mut engine_config = Config::new();
        engine_config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine =
            Engine::new(&engine_config).map_err(|error| engine_error(format!("{error:#}")))?;

        let mut linker = Linker::new(&engine);
        PluginBindings::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|error| engine_error(format!("{error:#}")))?;

        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick)
            .map_err(|error| engine_error(format!("starting the epoch thread failed: {error}")))?;
        let deadline_ticks = deadline_ticks(config.call_timeout, config.epoch_tick);
        Ok(Self {
            shared: Arc::new(Shared {
                engine,
                linker,
                config,
                deadline_ticks,
                _ticker: ticker,
            }),
        })
    }

    /// Returns the engine that compiles and runs the plugins.
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// Returns the host's settings.
    pub fn config(&self) -> &PluginHostConfig {
        &self.shared.config
    }

    /// Compiles the component `bytes` (or loads its compiled code from the cache) and links it
    /// against the host imports. `name` identifies the plugin in errors and logs. The plugin gets [`DenyAll`] services until [`Plugin::with_services`].
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<Plugin, PluginError> {
        let engine = &self.shared.engine;
        let cache_path = self
            .shared
            .config
            .cache_dir
            .as_deref()
            .map(|folder| cache::entry_path(folder, engine, bytes));

        let cached = cache_path
            .as_deref()
            .and_then(|path| cache::load(engine, path, name));
        let compiled_from_cache = cached.is_some();
        let component = match cached {
            Some(component) => component,
            None => {
                let component =
                    Component::new(engine, bytes).map_err(|error| PluginError::Compile {
                        plugin: name.to_owned(),
                        message: format!("{error:#}"),
                    })?;
                if let Some(path) = &cache_path {
                    cache::store(&component, path, name);
                }
                component
            }
        };

        let link_error = |error: wasmtime::Error| PluginError::Link {
            plugin: name.to_owned(),
            message: format!("{error:#}"),
        };
        let instance_pre = self
            .shared
            .linker
            .instantiate_pre(&component)
            .map_err(link_error)?;
        // The `strategy` export is optional: a component of the `plugin` world has none.
        let strategy = strategy::GuestIndices::new(&instance_pre).ok();
        let pre = PluginPre::new(instance_pre).map_err(link_error)?;
        let indices = PluginIndices::new(pre.instance_pre()).map_err(link_error)?;
        tracing::debug!(plugin = name, compiled_from_cache, "plugin loaded");
        Ok(Plugin {
            name: Arc::from(name),
            pre,
            indices,
            strategy,
            services: Arc::new(DenyAll),
            idle: Arc::default(),
            limits: CallLimits {
                max_memory_bytes: self.shared.config.max_memory_bytes,
                call_timeout: self.shared.config.call_timeout,
                deadline_ticks: self.shared.deadline_ticks,
            },
            shared: Arc::clone(&self.shared),
            compiled_from_cache,
        })
    }
}

/// A loaded plugin. Each call runs in an instance of its own: a ready instance that an earlier
/// successful call left, or a new one. Calls may run concurrently from several threads, and a
/// failed call drops its instance, so a trap leaves nothing behind. `init` always runs in a new
/// instance that is dropped afterwards, so no call reads the state `init` left. Calls block their
/// thread for up to the call timeout, so async code should run them on a blocking thread pool
/// (for example `tokio::task::spawn_blocking`).
#[derive(Clone)]
pub struct Plugin {
    name: Arc<str>,
    pre: PluginPre<InstanceState>,
    indices: PluginIndices,
    /// The indices of the `strategy` functions, when the component exports them.
    strategy: Option<strategy::GuestIndices>,
    services: Arc<dyn HostServices>,
    /// Instances ready for the next call, with the thread that ran each last, shared by the
    /// clones of this plugin.
    idle: Arc<Mutex<Vec<(ThreadId, ReadyInstance)>>>,
    limits: CallLimits,
    shared: Arc<Shared>,
    compiled_from_cache: bool,
}

/// An instance with its store, kept between calls.
pub(crate) struct ReadyInstance {
    pub(crate) store: Store<InstanceState>,
    pub(crate) bindings: PluginBindings,
    /// The `strategy` export, when the component has one.
    pub(crate) strategy: Option<strategy::Guest>,
}

/// The memory limit and deadline of each call of one plugin.
#[derive(Debug, Clone, Copy)]
struct CallLimits {
    max_memory_bytes: usize,
    call_timeout: Duration,
    deadline_ticks: u64,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("services", &self.services)
            .field("compiled_from_cache", &self.compiled_from_cache)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Returns the name given to [`PluginHost::load`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns whether the component exports the `strategy` interface.
    pub fn has_strategy(&self) -> bool {
        self.strategy.is_some()
    }

    /// Returns whether the compiled code came from the on-disk cache.
    pub fn compiled_from_cache(&self) -> bool {
        self.compiled_from_cache
    }

    /// Replaces the services behind the plugin's `api` and `http` imports.
    pub fn with_services(mut self, services: Arc<dyn HostServices>) -> Self {
        self.services = services;
        // Ready instances hold the previous services in their stores.
        self.idle = Arc::default();
        self
    }

    /// Sets this plugin's memory limit and call deadline. The memory limit is capped by the
    /// host's [`PluginHostConfig::max_memory_bytes`], which sizes the pool's memory slots.
    pub fn with_limits(mut self, max_memory_bytes: usize, call_timeout: Duration) -> Self {
        self.limits = CallLimits {
            max_memory_bytes: max_memory_bytes.min(self.shared.config.max_memory_bytes),
            call_timeout,
            deadline_ticks: deadline_ticks(call_timeout, self.shared.config.epoch_tick),
        };
        self.idle = Arc::default();
        self
    }

    /// Calls `lifecycle.init` with the plugin's configuration (a JSON object) and returns its
    /// manifest, or the error the plugin returned.
    pub fn init(&self, config: &str) -> Result<Result<Manifest, ApiError>, PluginError> {
        self.call("lifecycle.init", Reuse::Never, |store, plugin| {
            plugin.palisade_plugin_lifecycle().call_init(store, config)
        })
    }

    /// Calls `controller.handle`, lending the guest `request`, and returns the plugin's response
    /// or error.
    pub fn handle(
        &self,
        request: &Arc<Request>,
    ) -> Result<Result<Response, ApiError>, PluginError> {
        self.call_lending("controller.handle", request, |store, plugin| {
            plugin
                .palisade_plugin_controller()
                .call_handle(store, request::lend())
        })
    }

    /// Calls `pipe.run` for `event` and returns the payload for the next pipe, or the plugin's
    /// error.
    pub fn run_pipe(
        &self,
        event: &str,
        request: &Arc<Request>,
        payload: &str,
    ) -> Result<Result<String, ApiError>, PluginError> {
        self.call_lending("pipe.run", request, |store, plugin| {
            plugin
                .palisade_plugin_pipe()
                .call_run(store, event, request::lend(), payload)
        })
    }

    /// Calls `hook.observe` for `event`.
    pub fn observe(
        &self,
        event: &str,
        request: &Arc<Request>,
        payload: &str,
    ) -> Result<(), PluginError> {
        self.call_lending("hook.observe", request, |store, plugin| {
            plugin
                .palisade_plugin_hook()
                .call_observe(store, event, request::lend(), payload)
        })
    }

    /// Runs `function` like [`Plugin::call`], with `request` lent to the guest for the call.
    fn call_lending<T>(
        &self,
        function: &'static str,
        request: &Arc<Request>,
        run: impl FnOnce(&mut Store<InstanceState>, &PluginBindings) -> wasmtime::Result<T>,
    ) -> Result<T, PluginError> {
        self.call_instance(function, Reuse::AfterSuccess, |ready| {
            ready.store.data_mut().request = Some(Arc::clone(request));
            let outcome = run(&mut ready.store, &ready.bindings);
            ready.store.data_mut().request = None;
            outcome
        })
    }

    /// Runs `function` in a ready instance or a new one, with a fresh deadline.
    fn call<T>(
        &self,
        function: &'static str,
        reuse: Reuse,
        run: impl FnOnce(&mut Store<InstanceState>, &PluginBindings) -> wasmtime::Result<T>,
    ) -> Result<T, PluginError> {
        self.call_instance(function, reuse, |ready| {
            run(&mut ready.store, &ready.bindings)
        })
    }

    /// Runs `function` with the whole ready instance, for exports outside the `plugin` world.
    pub(crate) fn call_instance<T>(
        &self,
        function: &'static str,
        reuse: Reuse,
        run: impl FnOnce(&mut ReadyInstance) -> wasmtime::Result<T>,
    ) -> Result<T, PluginError> {
        let ready = match reuse {
            Reuse::AfterSuccess => self.take_idle(),
            Reuse::Never => None,
        };
        let mut ready = match ready {
            Some(ready) => ready,
            None => self.instantiate(function)?,
        };
        ready.store.set_epoch_deadline(self.limits.deadline_ticks);
        ready.store.data_mut().limiter.exceeded = false;

        let outcome = run(&mut ready);
        ready.store.data_mut().connections.close_all();
        match outcome {
            Ok(value) => {
                if reuse == Reuse::AfterSuccess {
                    self.keep_or_retire(ready);
                }
                Ok(value)
            }
            Err(error) => Err(self.call_error(function, &ready.store, &error, false)),
        }
    }

    /// Instantiates the plugin in a new store.
    fn instantiate(&self, function: &'static str) -> Result<ReadyInstance, PluginError> {
        let state = InstanceState {
            plugin: Arc::clone(&self.name),
            services: Arc::clone(&self.services),
            limiter: MemoryLimiter::new(self.limits.max_memory_bytes),
            connections: Connections::default(),
            request: None,
        };
        let mut store = Store::new(&self.shared.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(self.limits.deadline_ticks);
        store.epoch_deadline_trap();

        let loaded = self
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .and_then(|instance| {
                let bindings = self.indices.load(&mut store, &instance)?;
                let strategy = match &self.strategy {
                    Some(indices) => Some(indices.load(&mut store, &instance)?),
                    None => None,
                };
                Ok((bindings, strategy))
            });
        match loaded {
            Ok((bindings, strategy)) => Ok(ReadyInstance {
                store,
                bindings,
                strategy,
            }),
            Err(error) => Err(self.call_error(function, &store, &error, true)),
        }
    }

    /// Keeps an instance for the next call, unless its memory came near the limit. Linear
    /// memory never shrinks, so a reused instance that leaks or fragments its heap would fail a
    /// later request with an out-of-memory trap. A fresh instance starts small.
    fn keep_or_retire(&self, ready: ReadyInstance) {
        let limiter = &ready.store.data().limiter;
        if limiter.is_near_limit() {
            tracing::debug!(
                plugin = &*self.name,
                memory_bytes = limiter.memory_bytes,
                max_memory_bytes = limiter.max_memory_bytes,
                "plugin instance dropped: its memory is near the limit"
            );
            return;
        }
        self.put_idle(ready);
    }

    /// Takes an idle instance, preferably the one this thread used last: its code and memory
    /// are more likely still in this core's caches.
    fn take_idle(&self) -> Option<ReadyInstance> {
        let mut idle = self.idle.lock().ok()?;
        let current_thread = std::thread::current().id();
        let last_used_here = idle
            .iter()
            .rposition(|(thread, _)| *thread == current_thread);
        match last_used_here {
            Some(position) => Some(idle.remove(position).1),
            None => idle.pop().map(|(_, ready)| ready),
        }
    }

    fn put_idle(&self, ready: ReadyInstance) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_INSTANCES
        {
            idle.push((std::thread::current().id(), ready));
        }
    }

    /// Turns a wasmtime error into a [`PluginError`] that names the plugin and the cause.
    fn call_error(
        &self,
        function: &'static str,
        store: &Store<InstanceState>,
        error: &wasmtime::Error,
        instantiating: bool,
    ) -> PluginError {
        let failure = if store.data().limiter.exceeded {
            PluginFailure::OutOfMemory(self.limits.max_memory_bytes)
        } else if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            PluginFailure::Timeout(self.limits.call_timeout)
        } else if instantiating {
            PluginFailure::Instantiate(format!("{error:#}"))
        } else if let Some(trap) = error.downcast_ref::<Trap>() {
            PluginFailure::Trap(trap.to_string())
        } else {
            PluginFailure::Trap(error.root_cause().to_string())
        };
        tracing::warn!(plugin = &*self.name, function, %failure, error = %format!("{error:?}"), "plugin call failed");
        PluginError::Call {
            plugin: self.name.to_string(),
            function,
            failure,
        }
    }
}

/// Whether a call may run in a ready instance and leave its instance for the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// A new instance, dropped after the call (`init`).
    Never,
    /// A ready instance when one is idle; kept after a successful call.
    AfterSuccess,
}

/// Returns the epoch ticks to give a call so that it runs for at least `timeout`. The deadline
/// counts from the current epoch, which may be about to advance, hence the extra tick.
fn deadline_ticks(timeout: Duration, tick: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(tick.as_nanos());
    u64::try_from(ticks).unwrap_or(u64::MAX - 1) + 1
}

/// The data of one instance's store: the host imports read it.
pub(crate) struct InstanceState {
    pub(crate) plugin: Arc<str>,
    pub(crate) services: Arc<dyn HostServices>,
    pub(crate) limiter: MemoryLimiter,
    /// The `tcp` connections of the current call.
    pub(crate) connections: Connections,
    /// The request lent to the current call, if any.
    pub(crate) request: Option<Arc<Request>>,
}

/// Traps an instance whose linear memory grows beyond the limit, and records that it did so the
/// host can tell an exhausted memory from other traps.
pub(crate) struct MemoryLimiter {
    max_memory_bytes: usize,
    /// The size of the instance's largest linear memory, in bytes.
    memory_bytes: usize,
    exceeded: bool,
}

impl MemoryLimiter {
    fn new(max_memory_bytes: usize) -> Self {
        Self {
            max_memory_bytes,
            memory_bytes: 0,
            exceeded: false,
        }
    }

    /// Returns whether the instance uses more than three quarters of its memory limit.
    fn is_near_limit(&self) -> bool {
        self.memory_bytes > self.max_memory_bytes / 4 * 3
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.exceeded = true;
            wasmtime::bail!(
                "growing linear memory to {desired} bytes exceeds the limit of {} bytes",
                self.max_memory_bytes
            );
        }
        self.memory_bytes = self.memory_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// A thread that increments the engine's epoch every tick until it is dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("plugin-epoch".to_owned())
            .spawn(move || {
                while !thread_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread wakes within one tick; a panic in it has nothing to report here.
            let _ = thread.join();
        }
    }
}
