//! Loads the first-party plugins that `scripts/build-plugins.sh` builds from `plugins/` and runs
//! them in a real `PluginHost`.
//!
//! The tests need the script's output folder in `PALISADE_PLUGINS_BUILD_DIR`. Without it each
//! test prints that it is skipped and passes, so `cargo test` works on a machine without the
//! WebAssembly toolchain.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use palisade_plugins::{
    ApiError, HostServices, Identity, Plugin, PluginHost, PluginHostConfig, Request, RequestParts,
    User,
};
use serde_json::{Value, json};

const BUILD_DIR_VARIABLE: &str = "PALISADE_PLUGINS_BUILD_DIR";

const AUDIT_EVENTS: [&str; 3] = [
    "generic:document:afterWrite",
    "generic:document:afterUpdate",
    "generic:document:afterDelete",
];

/// Loads `<build dir>/<name>.wasm`, or returns `None` when the build folder is not set. Each
/// plugin compiles once per test binary, because Cranelift takes seconds in a debug build.
fn load_built(name: &str) -> Option<Plugin> {
    let Some(folder) = std::env::var_os(BUILD_DIR_VARIABLE) else {
        report_skipped(name);
        return None;
    };

    static HOST: OnceLock<PluginHost> = OnceLock::new();
    static LOADED: OnceLock<Mutex<HashMap<String, Plugin>>> = OnceLock::new();
    let host =
        HOST.get_or_init(|| PluginHost::new(PluginHostConfig::default()).expect("the host starts"));
    let mut loaded = LOADED
        .get_or_init(Mutex::default)
        .lock()
        .expect("no test thread panicked while loading");
    if let Some(plugin) = loaded.get(name) {
        return Some(plugin.clone());
    }

    let path = PathBuf::from(folder).join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "reading {} failed: {error}; run scripts/build-plugins.sh",
            path.display()
        )
    });
    let plugin = host.load(name, &bytes).expect("the built plugin loads");
    loaded.insert(name.to_owned(), plugin.clone());
    Some(plugin)
}

// The message tells the reader of the test output why a test passed without running.
#[allow(clippy::print_stderr)]
fn report_skipped(name: &str) {
    eprintln!(
        "skipped: {BUILD_DIR_VARIABLE} is not set; run scripts/build-plugins.sh and set it to \
         the output folder to test the {name} plugin"
    );
}

/// Returns the `version` of the [package] table of `plugins/<name>/Cargo.toml`.
fn crate_version(name: &str) -> String {
    let manifest_path = format!(
        "{}/../../plugins/{name}/Cargo.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let manifest = std::fs::read_to_string(&manifest_path).expect("the plugin's Cargo.toml");
    manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the plugin's Cargo.toml has a version")
        .to_owned()
}

fn request(controller: &str, action: &str, args: Value) -> Arc<Request> {
    Arc::new(Request::new(RequestParts {
        request_id: "request-1".to_owned(),
        controller: controller.to_owned(),
        action: action.to_owned(),
        args: args.to_string(),
        body: None,
        volatile: None,
        user: User {
            id: "kuid-7".to_owned(),
            profile_ids: vec!["default".to_owned()],
        },
        protocol: "http".to_owned(),
        connection_id: "connection-1".to_owned(),
    }))
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("the plugin returns valid JSON")
}

#[test]
fn greeting_init_returns_manifest() {
    let Some(plugin) = load_built("greeting") else {
        return;
    };

    let manifest = plugin
        .init("{}")
        .expect("the call completes")
        .expect("the plugin returns a manifest");

    assert_eq!(manifest.name, "greeting");
    assert_eq!(manifest.version, crate_version("greeting"));
    assert_eq!(manifest.controllers.len(), 1);
    assert_eq!(manifest.controllers[0].name, "greeting");
    assert_eq!(manifest.controllers[0].actions.len(), 1);
    let action = &manifest.controllers[0].actions[0];
    assert_eq!(action.name, "sayHello");
    assert_eq!(action.http.len(), 1);
    assert_eq!(action.http[0].verb, "GET");
    assert_eq!(action.http[0].path, "say-hello/:name");
    assert!(manifest.pipes.is_empty());
    assert!(manifest.hooks.is_empty());
    assert!(manifest.strategies.is_empty());
}

#[test]
fn greeting_says_hello() {
    let Some(plugin) = load_built("greeting") else {
        return;
    };

    let response = plugin
        .handle(&request("greeting", "sayHello", json!({"name": "Ada"})))
        .expect("the call completes")
        .expect("the plugin returns a response");

    assert_eq!(response.status, 200);
    assert_eq!(parse(&response.result), json!("Hello, Ada"));
    assert!(response.headers.is_empty());
}

#[test]
fn greeting_requires_name() {
    let Some(plugin) = load_built("greeting") else {
        return;
    };

    let error = plugin
        .handle(&request("greeting", "sayHello", json!({})))
        .expect("the call completes")
        .expect_err("the plugin rejects a request without name");

    assert_eq!(error.status, 400);
    assert_eq!(error.id, "api.assert.missing_argument");
    assert_eq!(error.message, "Missing argument \"name\".");
    assert_eq!(error.props, ["name"]);
}

#[test]
fn greeting_unknown_action_not_found() {
    let Some(plugin) = load_built("greeting") else {
        return;
    };

    let error = plugin
        .handle(&request("greeting", "sayGoodbye", json!({})))
        .expect("the call completes")
        .expect_err("the plugin has no such action");

    assert_eq!(error.status, 404);
    assert_eq!(error.id, "api.process.action_not_found");
}

#[test]
fn greeting_default_pipe_keeps_payload() {
    let Some(plugin) = load_built("greeting") else {
        return;
    };
    let payload = json!([{"_id": "a", "_source": {"title": "Dune"}}]);

    let returned = plugin
        .run_pipe(
            "generic:document:beforeWrite",
            &request("document", "create", json!({})),
            &payload.to_string(),
        )
        .expect("the call completes")
        .expect("the default pipe succeeds");

    assert_eq!(parse(&returned), payload);
}

/// One `api.call` that a plugin made.
#[derive(Debug, Clone)]
struct ApiCall {
    payload: Value,
    identity: Identity,
    with_current: bool,
}

/// [`HostServices`] that record every API call and return results for the few actions that the
/// audit plugin runs.
#[derive(Debug, Default)]
struct ScriptedServices {
    calls: Mutex<Vec<ApiCall>>,
    index_exists: bool,
    /// Whether `index:create` and `collection:create` fail with an "already exists" error.
    creates_conflict: bool,
    /// Whether `document:create` fails.
    writes_fail: bool,
    /// The settings returned to `environment.settings`, `{}` when empty.
    settings: String,
}

impl ScriptedServices {
    fn calls(&self) -> Vec<ApiCall> {
        self.calls.lock().expect("no test thread panicked").clone()
    }

    fn result_for(&self, controller: &str, action: &str) -> Result<String, ApiError> {
        match (controller, action) {
            ("index", "exists") => Ok(self.index_exists.to_string()),
            ("index" | "collection", "create") if self.creates_conflict => {
                Err(already_exists(controller))
            }
            ("index" | "collection", "create") => Ok(r#"{"acknowledged":true}"#.to_owned()),
            ("document", "create") if self.writes_fail => Err(ApiError {
                status: 503,
                id: "services.storage.not_available".to_owned(),
                message: "Storage unavailable.".to_owned(),
                props: Vec::new(),
            }),
            ("document", "create") => Ok(r#"{"_id":"entry-1","_version":1}"#.to_owned()),
            _ => panic!("unexpected API call {controller}:{action}"),
        }
    }
}

fn already_exists(controller: &str) -> ApiError {
    ApiError {
        status: 412,
        id: format!("services.storage.{controller}_already_exists"),
        message: "Already exists.".to_owned(),
        props: Vec::new(),
    }
}

impl HostServices for ScriptedServices {
    fn settings(&self) -> String {
        if self.settings.is_empty() {
            return "{}".to_owned();
        }
        self.settings.clone()
    }

    fn call_api(
        &self,
        _plugin: &str,
        payload: &str,
        identity: Identity,
        current: Option<&Request>,
    ) -> Result<String, ApiError> {
        let payload: Value = serde_json::from_str(payload).expect("the plugin sends JSON");
        let controller = payload["controller"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let action = payload["action"].as_str().unwrap_or_default().to_owned();
        self.calls
            .lock()
            .expect("no test thread panicked")
            .push(ApiCall {
                payload,
                identity,
                with_current: current.is_some(),
            });
        self.result_for(&controller, &action)
    }
}

fn load_audit(services: &Arc<ScriptedServices>) -> Option<Plugin> {
    let plugin = load_built("audit")?;
    Some(plugin.with_services(services.clone()))
}

fn action_of(call: &ApiCall) -> String {
    format!("{}:{}", call.payload["controller"], call.payload["action"]).replace('"', "")
}

#[test]
fn audit_init_creates_index() {
    let services = Arc::new(ScriptedServices::default());
    let Some(plugin) = load_audit(&services) else {
        return;
    };

    let manifest = plugin
        .init("{}")
        .expect("the call completes")
        .expect("the plugin returns a manifest");

    assert_eq!(manifest.name, "audit");
    assert_eq!(manifest.version, crate_version("audit"));
    assert_eq!(manifest.hooks, AUDIT_EVENTS);
    assert!(manifest.controllers.is_empty());
    assert!(manifest.pipes.is_empty());

    let calls = services.calls();
    let actions: Vec<String> = calls.iter().map(action_of).collect();
    assert_eq!(
        actions,
        ["index:exists", "index:create", "collection:create"]
    );
    for call in &calls {
        assert_eq!(call.identity, Identity::Plugin);
        assert!(!call.with_current);
        assert_eq!(call.payload["index"], "audit");
    }
    assert_eq!(calls[2].payload["collection"], "audit");
    assert_eq!(
        calls[2].payload["body"]["properties"]["timestamp"]["type"],
        "date"
    );
}

#[test]
fn audit_init_skips_existing_index() {
    let services = Arc::new(ScriptedServices {
        index_exists: true,
        ..ScriptedServices::default()
    });
    let Some(plugin) = load_audit(&services) else {
        return;
    };

    plugin
        .init("{}")
        .expect("the call completes")
        .expect("the plugin returns a manifest");

    let actions: Vec<String> = services.calls().iter().map(action_of).collect();
    assert_eq!(actions, ["index:exists", "collection:create"]);
}

#[test]
fn audit_init_tolerates_already_exists() {
    let services = Arc::new(ScriptedServices {
        creates_conflict: true,
        ..ScriptedServices::default()
    });
    let Some(plugin) = load_audit(&services) else {
        return;
    };

    let outcome = plugin.init("{}").expect("the call completes");

    assert!(outcome.is_ok(), "init failed: {outcome:?}");
    let actions: Vec<String> = services.calls().iter().map(action_of).collect();
    assert_eq!(
        actions,
        ["index:exists", "index:create", "collection:create"]
    );
}

#[test]
fn audit_init_rejects_invalid_index() {
    let services = Arc::new(ScriptedServices::default());
    let Some(plugin) = load_audit(&services) else {
        return;
    };

    for settings in [r#"{"index":""}"#, r#"{"index":42}"#, "[1]"] {
        let error = plugin
            .init(settings)
            .expect("the call completes")
            .expect_err("the plugin rejects the settings");
        assert_eq!(error.status, 400, "settings {settings}");
        assert_eq!(error.id, "plugin.config.invalid", "settings {settings}");
    }
    assert!(services.calls().is_empty());
}

#[test]
fn audit_hook_writes_entry() {
    let services = Arc::new(ScriptedServices::default());
    let Some(plugin) = load_audit(&services) else {
        return;
    };
    let args =
        json!({"index": "library", "collection": "books", "_id": "b1", "refresh": "wait_for"});
    let payload = json!([{"_id": "b1", "_source": {"title": "Dune"}}]);

    plugin
        .observe(
            "generic:document:afterWrite",
            &request("document", "create", args),
            &payload.to_string(),
        )
        .expect("the call completes");

    let calls = services.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(action_of(call), "document:create");
    assert_eq!(call.identity, Identity::Plugin);
    assert!(!call.with_current);
    assert_eq!(call.payload["index"], "audit");
    assert_eq!(call.payload["collection"], "audit");

    let entry = &call.payload["body"];
    assert_eq!(entry["event"], "generic:document:afterWrite");
    assert_eq!(entry["controller"], "document");
    assert_eq!(entry["action"], "create");
    assert_eq!(entry["index"], "library");
    assert_eq!(entry["collection"], "books");
    assert_eq!(entry["documentIds"], json!(["b1"]));
    assert_eq!(entry["userId"], "kuid-7");
    let timestamp = entry["timestamp"]
        .as_u64()
        .expect("the timestamp is a number");
    // 2023-11-14: a clock reading in milliseconds is far above it, one in seconds far below.
    assert!(timestamp > 1_700_000_000_000, "timestamp {timestamp}");
}

#[test]
fn audit_hook_lists_deleted_ids() {
    let services = Arc::new(ScriptedServices::default());
    let Some(plugin) = load_audit(&services) else {
        return;
    };
    let args = json!({"index": "library", "collection": "books"});
    let payload = json!([{"_id": "b1"}, {"_id": "b2"}]);

    plugin
        .observe(
            "generic:document:afterDelete",
            &request("document", "mDelete", args),
            &payload.to_string(),
        )
        .expect("the call completes");

    let calls = services.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].payload["body"]["documentIds"], json!(["b1", "b2"]));
    assert_eq!(calls[0].payload["body"]["action"], "mDelete");
}

#[test]
fn audit_hook_ignores_own_index() {
    let services = Arc::new(ScriptedServices::default());
    let Some(plugin) = load_audit(&services) else {
        return;
    };
    let args = json!({"index": "audit", "collection": "audit"});
    let payload = json!([{"_id": "entry-1", "_source": {}}]);

    plugin
        .observe(
            "generic:document:afterWrite",
            &request("document", "create", args),
            &payload.to_string(),
        )
        .expect("the call completes");

    assert!(services.calls().is_empty());
}

#[test]
fn audit_hook_survives_failed_write() {
    let services = Arc::new(ScriptedServices {
        writes_fail: true,
        ..ScriptedServices::default()
    });
    let Some(plugin) = load_audit(&services) else {
        return;
    };
    let args = json!({"index": "library", "collection": "books", "_id": "b1"});

    let outcome = plugin.observe(
        "generic:document:afterUpdate",
        &request("document", "update", args),
        r#"[{"_id":"b1","_source":{"title":"Dune"}}]"#,
    );

    assert!(outcome.is_ok(), "the hook trapped: {outcome:?}");
    assert_eq!(services.calls().len(), 1);
}

#[test]
fn audit_hook_writes_to_configured_index() {
    let services = Arc::new(ScriptedServices {
        settings: r#"{"index":"history"}"#.to_owned(),
        ..ScriptedServices::default()
    });
    let Some(plugin) = load_audit(&services) else {
        return;
    };
    let args = json!({"index": "library", "collection": "books", "_id": "b1"});
    let payload = json!([{"_id": "b1", "_source": {}}]);

    plugin
        .observe(
            "generic:document:afterWrite",
            &request("document", "create", args),
            &payload.to_string(),
        )
        .expect("the call completes");

    let calls = services.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].payload["index"], "history");
}
