//! Runs purpose-built WAT guests, turned into components of the `plugin` world, in a real
//! `PluginHost`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palisade_plugins::{
    ApiError, HostServices, Identity, Plugin, PluginError, PluginFailure, PluginHost,
    PluginHostConfig, Request, RequestParts, RequestSource, User,
};

const COMMON: &str = include_str!("guests/common.wat");
const ECHO: &str = include_str!("guests/echo.wat");
const INFINITE_LOOP: &str = include_str!("guests/infinite_loop.wat");
const MEMORY_BOMB: &str = include_str!("guests/memory_bomb.wat");
const LEAK: &str = include_str!("guests/leak.wat");
const TRAP: &str = include_str!("guests/trap.wat");
const ENVIRONMENT: &str = include_str!("guests/environment.wat");

const MAX_MEMORY_BYTES: usize = 8 * 1024 * 1024;
const CALL_TIMEOUT: Duration = Duration::from_millis(200);

/// Builds a component of the `plugin` world from a guest's WAT, with `common.wat` pasted in.
fn component(guest: &str) -> Vec<u8> {
    palisade_test_harness::wat_component(&guest.replace(";;COMMON", COMMON))
}

fn test_config() -> PluginHostConfig {
    PluginHostConfig {
        max_memory_bytes: MAX_MEMORY_BYTES,
        call_timeout: CALL_TIMEOUT,
        max_instances: 16,
        ..PluginHostConfig::default()
    }
}

fn test_host() -> PluginHost {
    PluginHost::new(test_config()).expect("the host starts")
}

fn request(action: &str, args: &str) -> Arc<Request> {
    Arc::new(Request::new(parts(action, args)))
}

fn parts(action: &str, args: &str) -> RequestParts {
    RequestParts {
        request_id: "request-1".to_owned(),
        controller: "echo".to_owned(),
        action: action.to_owned(),
        args: args.to_owned(),
        body: Some("{}".to_owned()),
        volatile: None,
        user: User {
            id: "-1".to_owned(),
            profile_ids: vec!["anonymous".to_owned()],
        },
        protocol: "http".to_owned(),
        connection_id: "connection-1".to_owned(),
    }
}

/// A request source that counts how many times the host built the parts.
struct CountedSource {
    parts: RequestParts,
    builds: Arc<AtomicUsize>,
}

impl RequestSource for CountedSource {
    fn parts(&self) -> RequestParts {
        self.builds.fetch_add(1, Ordering::SeqCst);
        self.parts.clone()
    }
}

/// Checks that `plugin` echoes the request's arguments.
fn assert_echoes(plugin: &Plugin) {
    let args = r#"{"index":"books","_id":"42"}"#;
    let response = plugin
        .handle(&request("say", args))
        .expect("the call completes")
        .expect("the guest returns a response");
    assert_eq!(response.status, 200);
    assert_eq!(response.result, args);
    assert!(response.headers.is_empty());
}

/// Returns the failure of a call that must have failed on the host side.
fn failure_of<T: std::fmt::Debug>(outcome: Result<T, PluginError>) -> (PluginError, PluginFailure) {
    let error = outcome.expect_err("the call fails");
    let failure = error
        .failure()
        .expect("the error is a call failure")
        .clone();
    (error, failure)
}

#[test]
fn init_returns_manifest() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");

    let manifest = plugin
        .init(r#"{"greeting":"hello"}"#)
        .expect("the call completes")
        .expect("the guest returns a manifest");

    assert_eq!(manifest.name, "echo");
    assert_eq!(manifest.version, "1.0.0");
    assert_eq!(manifest.controllers.len(), 1);
    assert_eq!(manifest.controllers[0].name, "echo");
    assert_eq!(manifest.controllers[0].actions.len(), 1);
    assert_eq!(manifest.controllers[0].actions[0].name, "say");
    assert!(manifest.controllers[0].actions[0].http.is_empty());
    assert!(manifest.pipes.is_empty());
    assert!(manifest.hooks.is_empty());
    assert!(manifest.strategies.is_empty());
}

#[test]
fn init_error_reaches_host() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");

    let error = plugin
        .init("")
        .expect("the call completes")
        .expect_err("the guest rejects an empty configuration");

    assert_eq!(error.status, 400);
    assert_eq!(error.id, "plugin.config.missing");
    assert_eq!(error.message, "The configuration is empty.");
    assert!(error.props.is_empty());
}

#[test]
fn handle_echoes_args() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");
    assert_echoes(&plugin);
}

#[test]
fn kept_request_handle_fails_call() {
    // The echo guest's pipe without the drop of its lent request: the call ends with a borrowed
    // handle still held, which the component model forbids.
    let echo = ECHO.replace(";;COMMON", COMMON);
    let keeping = echo.replace(
        "    (call $drop_request (local.get $request))\n    (i32.store8 (i32.const 2048) (i32.const 0))\n    (i32.store (i32.const 2052) (local.get $payload))",
        "    (i32.store8 (i32.const 2048) (i32.const 0))\n    (i32.store (i32.const 2052) (local.get $payload))",
    );
    assert_ne!(keeping, echo, "the pipe's drop was removed");
    let host = test_host();
    let plugin = host
        .load("echo", &palisade_test_harness::wat_component(&keeping))
        .expect("the guest loads");
    let request = request("say", "{}");

    let (error, failure) = failure_of(plugin.run_pipe("document:beforeCreate", &request, "{}"));

    assert!(matches!(failure, PluginFailure::Trap(_)), "{error}");
    assert!(error.to_string().contains("borrow"), "{error}");
    assert_echoes(&plugin);
}

#[test]
fn lent_request_built_on_first_read() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");
    let args = r#"{"_id":"42"}"#;
    let builds = Arc::new(AtomicUsize::new(0));
    let source = CountedSource {
        parts: parts("say", args),
        builds: Arc::clone(&builds),
    };
    let request = Arc::new(Request::lazy(source));

    // The echo guest's pipe returns its payload without reading the request.
    let payload = plugin.run_pipe("document:beforeCreate", &request, "{}");
    assert_eq!(
        payload.expect("the call completes").ok(),
        Some("{}".to_owned())
    );
    assert_eq!(builds.load(Ordering::SeqCst), 0);

    // Its action reads the action and the arguments: one build serves both, and the next call.
    for _ in 0..2 {
        let response = plugin.handle(&request).expect("the call completes");
        assert_eq!(response.expect("the guest returns a response").result, args);
    }
    assert_eq!(builds.load(Ordering::SeqCst), 1);
}

#[test]
fn pipe_and_hook_run() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");
    let request = request("say", "{}");

    let payload = plugin
        .run_pipe("document:beforeCreate", &request, r#"{"_id":"a"}"#)
        .expect("the call completes")
        .expect("the guest returns a payload");
    assert_eq!(payload, r#"{"_id":"a"}"#);

    plugin
        .observe("document:afterCreate", &request, "{}")
        .expect("the call completes");
}

#[test]
fn api_call_not_granted_by_default() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");

    let error = plugin
        .handle(&request("callApi", "{}"))
        .expect("the call completes")
        .expect_err("the guest passes on the refusal");

    assert_eq!(error.status, 403);
    assert_eq!(error.id, "plugin.runtime.capability_not_granted");
    assert!(error.message.contains("\"echo\""), "{}", error.message);
    assert!(error.message.contains("api.call"), "{}", error.message);
    assert_eq!(error.props, ["echo", "api.call"]);
}

/// Grants `api.call` and records the payloads it receives.
#[derive(Debug, Default)]
struct RecordingServices {
    payloads: Mutex<Vec<(String, String, Identity)>>,
}

impl HostServices for RecordingServices {
    fn call_api(
        &self,
        plugin: &str,
        payload: &str,
        identity: Identity,
        current: Option<&Request>,
    ) -> Result<String, ApiError> {
        assert!(current.is_none());
        self.payloads
            .lock()
            .expect("no test thread panicked while holding the lock")
            .push((plugin.to_owned(), payload.to_owned(), identity));
        Ok(r#"{"now":1700000000000}"#.to_owned())
    }
}

#[test]
fn api_call_uses_host_services() {
    let host = test_host();
    let services = Arc::new(RecordingServices::default());
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads")
        .with_services(services.clone());

    let response = plugin
        .handle(&request("callApi", "{}"))
        .expect("the call completes")
        .expect("the guest returns the API result");

    assert_eq!(response.status, 200);
    assert_eq!(response.result, r#"{"now":1700000000000}"#);
    let payloads = services.payloads.lock().expect("the lock is not poisoned");
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0].0, "echo");
    assert_eq!(payloads[0].1, r#"{"controller":"server","action":"now"}"#);
    assert_eq!(payloads[0].2, Identity::Plugin);
}

#[test]
fn random_bytes_returned_and_capped() {
    let host = test_host();
    let plugin = host
        .load("random", &component(ENVIRONMENT))
        .expect("the guest loads");

    // The guest requests as many bytes as the arguments are long, and returns the count received.
    let response = plugin
        .handle(&request("say", &"x".repeat(16)))
        .expect("the call completes")
        .expect("the guest returns a response");
    assert_eq!(response.status, 16);

    let too_many = "x".repeat(palisade_plugins::MAX_RANDOM_BYTES as usize + 1);
    let (_, failure) = failure_of(plugin.handle(&request("say", &too_many)));
    let PluginFailure::Trap(trap) = &failure else {
        panic!("expected a trap, got {failure:?}");
    };
    assert!(trap.contains("environment.random-bytes"), "{trap}");
}

/// Calls the plugin again from inside `api.call`, which needs a second instance, and records the
/// failure of that nested call.
#[derive(Debug, Default)]
struct ReentrantServices {
    /// The plugin to call; the test clears it at the end to break the reference cycle.
    plugin: Mutex<Option<Plugin>>,
    nested_failure: Mutex<Option<PluginFailure>>,
}

impl HostServices for ReentrantServices {
    fn call_api(
        &self,
        _plugin: &str,
        _payload: &str,
        _identity: Identity,
        _current: Option<&Request>,
    ) -> Result<String, ApiError> {
        let plugin = self
            .plugin
            .lock()
            .expect("the lock is not poisoned")
            .clone()
            .expect("the test sets the plugin");
        let error = plugin
            .handle(&request("say", "{}"))
            .expect_err("the pool has no free instance slot");
        *self
            .nested_failure
            .lock()
            .expect("the lock is not poisoned") = error.failure().cloned();
        Err(ApiError {
            status: 503,
            id: "test.pool.exhausted".to_owned(),
            message: error.to_string(),
            props: Vec::new(),
        })
    }
}

#[test]
fn exhausted_pool_fails_instantiation() {
    let host = PluginHost::new(PluginHostConfig {
        max_instances: 1,
        ..test_config()
    })
    .expect("the host starts");
    let services = Arc::new(ReentrantServices::default());
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads")
        .with_services(services.clone());
    *services.plugin.lock().expect("the lock is not poisoned") = Some(plugin.clone());

    let error = plugin
        .handle(&request("callApi", "{}"))
        .expect("the outer call completes")
        .expect_err("the guest passes on the error of the nested call");

    assert_eq!(error.status, 503);
    assert!(error.message.contains("instantiated"), "{}", error.message);
    let nested = services
        .nested_failure
        .lock()
        .expect("the lock is not poisoned")
        .clone();
    assert!(
        matches!(nested, Some(PluginFailure::Instantiate(_))),
        "{nested:?}"
    );
    // The slot is free again once the outer call returns.
    assert_echoes(&plugin);
    services
        .plugin
        .lock()
        .expect("the lock is not poisoned")
        .take();
}

#[test]
fn infinite_loop_times_out() {
    let host = test_host();
    let plugin = host
        .load("spinner", &component(INFINITE_LOOP))
        .expect("the guest loads");

    let started = Instant::now();
    let (error, failure) = failure_of(plugin.handle(&request("say", "{}")));
    let elapsed = started.elapsed();

    assert_eq!(failure, PluginFailure::Timeout(CALL_TIMEOUT));
    assert!(elapsed >= CALL_TIMEOUT, "interrupted after {elapsed:?}");
    assert!(elapsed < CALL_TIMEOUT * 10, "interrupted after {elapsed:?}");
    let message = error.to_string();
    assert!(message.contains("spinner"), "{message}");
    assert!(message.contains("controller.handle"), "{message}");
    assert!(message.contains("timed out"), "{message}");
}

#[test]
fn memory_bomb_hits_limit() {
    let host = test_host();
    let plugin = host
        .load("bomb", &component(MEMORY_BOMB))
        .expect("the guest loads");

    let (error, failure) = failure_of(plugin.handle(&request("say", "{}")));

    assert_eq!(failure, PluginFailure::OutOfMemory(MAX_MEMORY_BYTES));
    let message = error.to_string();
    assert!(message.contains("bomb"), "{message}");
    assert!(message.contains("memory limit"), "{message}");
}

#[test]
fn leaking_instance_replaced_before_limit() {
    let host = test_host();
    let plugin = host
        .load("leak", &component(LEAK))
        .expect("the guest loads");

    // Each call keeps 1 MiB more of the 8 MiB limit: an instance reused for every call would
    // run out of memory on the eighth call.
    for call in 0..24 {
        let response = plugin
            .handle(&request("say", "{}"))
            .unwrap_or_else(|error| panic!("call {call} failed: {error}"))
            .expect("the guest returns a response");
        assert_eq!(response.status, 200, "call {call}");
    }
}

#[test]
fn unreachable_is_trap() {
    let host = test_host();
    let plugin = host
        .load("trap", &component(TRAP))
        .expect("the guest loads");

    let (error, failure) = failure_of(plugin.handle(&request("say", "{}")));

    let PluginFailure::Trap(trap) = &failure else {
        panic!("expected a trap, got {failure:?}");
    };
    assert!(trap.contains("unreachable"), "{trap}");
    let message = error.to_string();
    assert!(message.contains("trap"), "{message}");
    assert!(message.contains("controller.handle"), "{message}");
}

#[test]
fn host_survives_failing_guests() {
    let host = test_host();
    let good = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");
    let bad = [
        host.load("spinner", &component(INFINITE_LOOP)),
        host.load("bomb", &component(MEMORY_BOMB)),
        host.load("trap", &component(TRAP)),
    ];

    for plugin in bad {
        let plugin = plugin.expect("the guest loads");
        // The failing guests implement `init` like the good one.
        assert!(plugin.init("{}").expect("init completes").is_ok());
        for _ in 0..2 {
            failure_of(plugin.handle(&request("say", "{}")));
            assert_echoes(&good);
        }
    }
}

#[test]
fn concurrent_calls_succeed() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");

    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..25 {
                    assert_echoes(&plugin);
                }
            });
        }
    });
}

#[test]
fn invalid_bytes_fail_to_compile() {
    let host = test_host();

    let error = host
        .load("garbage", b"not a component")
        .expect_err("the bytes are rejected");

    assert!(matches!(error, PluginError::Compile { .. }), "{error:?}");
    assert!(error.to_string().contains("garbage"), "{error}");
}

#[test]
fn compiled_code_cache_reused() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let config = PluginHostConfig {
        cache_dir: Some(folder.path().join("cache")),
        ..test_config()
    };
    let bytes = component(ECHO);

    let first = PluginHost::new(config.clone()).expect("the host starts");
    let plugin = first.load("echo", &bytes).expect("the guest loads");
    assert!(!plugin.compiled_from_cache());
    assert_echoes(&plugin);

    let entries: Vec<_> = std::fs::read_dir(folder.path().join("cache"))
        .expect("the cache folder exists")
        .map(|entry| entry.expect("a readable entry").path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0]
            .extension()
            .and_then(|extension| extension.to_str()),
        Some("cwasm")
    );

    // A second host with the same configuration reads the entry instead of compiling.
    let second = PluginHost::new(config).expect("the host starts");
    let plugin = second.load("echo", &bytes).expect("the guest loads");
    assert!(plugin.compiled_from_cache());
    assert_echoes(&plugin);

    // A corrupt entry is ignored, recompiled and rewritten.
    std::fs::write(&entries[0], b"corrupt").expect("the entry is writable");
    let plugin = second.load("echo", &bytes).expect("the guest loads");
    assert!(!plugin.compiled_from_cache());
    assert_echoes(&plugin);
    let plugin = second.load("echo", &bytes).expect("the guest loads");
    assert!(plugin.compiled_from_cache());
}

/// Prints the mean time of one `handle` call, fresh instantiation included. Run it in a release
/// build for meaningful numbers: `cargo test -p palisade-plugins --release -- --ignored`.
#[test]
#[ignore = "measurement, not a check"]
#[allow(clippy::print_stderr)]
fn handle_latency_measured() {
    let host = test_host();
    let plugin = host
        .load("echo", &component(ECHO))
        .expect("the guest loads");
    let request = request("say", "{}");
    let calls: u32 = 2_000;

    let started = Instant::now();
    for _ in 0..calls {
        plugin
            .handle(&request)
            .expect("the call completes")
            .expect("the guest returns a response");
    }
    let mean = started.elapsed() / calls;

    eprintln!("controller.handle with a fresh instance: {mean:?} per call over {calls} calls");
}
