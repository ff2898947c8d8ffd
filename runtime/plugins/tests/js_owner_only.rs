//! Runs the `owner-only` plugin, written in TypeScript and built by the JavaScript SDK with
//! componentize-js, in a real `PluginHost`.
//!
//! The component is built outside cargo (`npm ci && npm run build` in `plugins/owner-only`), so
//! these tests run only when `PALISADE_PLUGINS_BUILD_DIR` names a folder that contains
//! `owner-only.wasm`. Otherwise each test prints why it is skipped and passes.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use palisade_plugins::{Plugin, PluginHost, PluginHostConfig, Request, RequestParts, User};

const BUILD_DIR_VARIABLE: &str = "PALISADE_PLUGINS_BUILD_DIR";
const COMPONENT_FILE: &str = "owner-only.wasm";
const AFTER_GET: &str = "generic:document:afterGet";

/// Returns the component's path, or `None` after printing why the test is skipped.
#[allow(clippy::print_stderr)]
fn component_path() -> Option<PathBuf> {
    let Some(folder) = std::env::var_os(BUILD_DIR_VARIABLE) else {
        eprintln!(
            "skipped: {BUILD_DIR_VARIABLE} is not set; build plugins/owner-only and set it to its dist folder"
        );
        return None;
    };
    let path = PathBuf::from(folder).join(COMPONENT_FILE);
    if !path.is_file() {
        eprintln!(
            "skipped: {} does not exist; run `npm ci && npm run build` in plugins/owner-only",
            path.display()
        );
        return None;
    }
    Some(path)
}

/// A plugin loaded once per test binary, because compiling its 12 MB takes seconds.
struct Loaded {
    _host: PluginHost,
    plugin: Plugin,
    /// Time `PluginHost::load` took (Cranelift compilation and linking).
    load_time: Duration,
}

fn loaded() -> Option<&'static Loaded> {
    static LOADED: OnceLock<Option<Loaded>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = component_path()?;
            let bytes = std::fs::read(&path).expect("the component file is readable");
            let host = PluginHost::new(PluginHostConfig {
                max_instances: 8,
                ..PluginHostConfig::default()
            })
            .expect("the host starts");
            let started = Instant::now();
            let plugin = host
                .load("owner-only", &bytes)
                .expect("the component compiles and links against the host imports");
            Some(Loaded {
                _host: host,
                plugin,
                load_time: started.elapsed(),
            })
        })
        .as_ref()
}

fn plugin() -> Option<&'static Plugin> {
    loaded().map(|loaded| &loaded.plugin)
}

fn request_from(user_id: &str) -> Arc<Request> {
    Arc::new(Request::new(RequestParts {
        request_id: "request-1".to_owned(),
        controller: "document".to_owned(),
        action: "get".to_owned(),
        args: r#"{"index":"shop","collection":"orders","_id":"order-1"}"#.to_owned(),
        body: None,
        volatile: None,
        user: User {
            id: user_id.to_owned(),
            profile_ids: vec!["default".to_owned()],
        },
        protocol: "http".to_owned(),
        connection_id: "connection-1".to_owned(),
    }))
}

/// Returns a `generic:document:afterGet` entry for the document `id` created by `author`.
fn document(id: &str, author: &str) -> String {
    format!(
        r#"{{"_id":"{id}","_source":{{"total":12,"_kuzzle_info":{{"author":"{author}","createdAt":1700000000000}}}},"_version":1}}"#
    )
}

#[test]
fn component_imports_no_wasi() {
    let Some(path) = component_path() else {
        return;
    };
    let bytes = std::fs::read(&path).expect("the component file is readable");
    let wit_component::DecodedWasm::Component(resolve, world) =
        wit_component::decode(&bytes).expect("the component decodes")
    else {
        panic!("{} is a WIT package, not a component", path.display());
    };

    let imports: Vec<String> = resolve.worlds[world]
        .imports
        .keys()
        .map(|key| resolve.name_world_key(key))
        .collect();
    for import in &imports {
        assert!(
            import.starts_with("palisade:plugin/"),
            "unexpected import {import}; all imports: {imports:?}"
        );
    }
    assert!(imports.contains(&"palisade:plugin/log@0.1.0".to_owned()));
}

#[test]
fn init_returns_manifest() {
    let Some(plugin) = plugin() else {
        return;
    };

    let manifest = plugin
        .init("{}")
        .expect("the call completes")
        .expect("the plugin returns a manifest");

    assert_eq!(manifest.name, "owner-only");
    assert_eq!(manifest.version, "0.1.0");
    assert_eq!(manifest.pipes, vec![AFTER_GET.to_owned()]);
    assert!(manifest.controllers.is_empty());
    assert!(manifest.hooks.is_empty());
    assert!(manifest.strategies.is_empty());
}

#[test]
fn own_documents_pass_unchanged() {
    let Some(plugin) = plugin() else {
        return;
    };
    let payload = format!(
        "[{}, {}]",
        document("order-1", "alice"),
        document("order-2", "alice")
    );

    let returned = plugin
        .run_pipe(AFTER_GET, &request_from("alice"), &payload)
        .expect("the call completes")
        .expect("the pipe accepts the user's own documents");

    assert_eq!(returned, payload);
}

#[test]
fn empty_result_passes() {
    let Some(plugin) = plugin() else {
        return;
    };

    let returned = plugin
        .run_pipe(AFTER_GET, &request_from("alice"), "[]")
        .expect("the call completes")
        .expect("the pipe accepts an empty result");

    assert_eq!(returned, "[]");
}

#[test]
fn foreign_document_rejected_with_403() {
    let Some(plugin) = plugin() else {
        return;
    };
    let payload = format!(
        "[{}, {}]",
        document("order-1", "alice"),
        document("order-2", "bob")
    );

    let error = plugin
        .run_pipe(AFTER_GET, &request_from("alice"), &payload)
        .expect("the call completes")
        .expect_err("the pipe rejects a document by another author");

    assert_eq!(error.status, 403);
    assert_eq!(error.id, "security.rights.forbidden");
    assert_eq!(
        error.message,
        r#"Forbidden: document "order-2" belongs to another user."#
    );
    assert_eq!(error.props, vec!["order-2".to_owned()]);
}

#[test]
fn document_without_author_rejected() {
    let Some(plugin) = plugin() else {
        return;
    };
    let payload = r#"[{"_id":"legacy-1","_source":{"total":3}}]"#;

    let error = plugin
        .run_pipe(AFTER_GET, &request_from("-1"), payload)
        .expect("the call completes")
        .expect_err("the pipe rejects a document with no recorded author");

    assert_eq!(error.status, 403);
    assert_eq!(error.props, vec!["legacy-1".to_owned()]);
}

#[test]
fn non_array_payload_rejected_with_500() {
    let Some(plugin) = plugin() else {
        return;
    };
    let payload = document("order-1", "alice");

    let error = plugin
        .run_pipe(AFTER_GET, &request_from("alice"), &payload)
        .expect("the call completes")
        .expect_err("the pipe rejects a payload that is not an array");

    assert_eq!(error.status, 500);
    assert_eq!(error.id, "plugin.runtime.unexpected_error");
}

#[test]
fn other_events_pass_through() {
    let Some(plugin) = plugin() else {
        return;
    };
    let payload = r#"{"_id":"order-1"}"#;

    let returned = plugin
        .run_pipe("document:beforeCreate", &request_from("alice"), payload)
        .expect("the call completes")
        .expect("the plugin passes events it has no pipe for");

    assert_eq!(returned, payload);
}

/// Prints the load time and the mean time of one `lifecycle.init` and one `pipe.run` call, fresh
/// instantiation included. Run it in a
/// release build for meaningful numbers:
/// `PALISADE_PLUGINS_BUILD_DIR=... cargo test -p palisade-plugins --release --test js_owner_only -- --ignored`.
#[test]
#[ignore = "measurement, not a check"]
#[allow(clippy::print_stderr)]
fn pipe_latency_measured() {
    let Some(Loaded {
        plugin, load_time, ..
    }) = loaded()
    else {
        return;
    };
    eprintln!("owner-only load (compile and link): {load_time:?}");
    let request = request_from("alice");
    let accepted = format!("[{}]", document("order-1", "alice"));
    let rejected = format!("[{}]", document("order-1", "bob"));
    let calls: u32 = 500;

    let started = Instant::now();
    for _ in 0..calls {
        plugin.init("{}").expect("the call completes").ok();
    }
    let mean = started.elapsed() / calls;
    eprintln!("owner-only lifecycle.init, fresh instance: {mean:?} per call over {calls} calls");

    for (case, payload) in [("accepted", &accepted), ("rejected", &rejected)] {
        let started = Instant::now();
        for _ in 0..calls {
            plugin
                .run_pipe(AFTER_GET, &request, payload)
                .expect("the call completes")
                .ok();
        }
        let mean = started.elapsed() / calls;
        eprintln!(
            "owner-only pipe.run, {case}, fresh instance: {mean:?} per call over {calls} calls"
        );
    }
}
