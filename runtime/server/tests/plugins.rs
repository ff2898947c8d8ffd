//! WebAssembly plugins in a real server: controllers, hot reload under load, broken and deleted
//! files, sandbox failures, rights of plugin API calls, outbound HTTP, HTTPS and TCP. The guests
//! are WAT modules turned into components here, so these tests need no guest toolchain.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use palisade_test_harness::{ServerBuilder, TestServer};
use serde_json::{Value, json};
use support::{Api, error_id};

const COMMON: &str = include_str!("../../plugins/tests/guests/common.wat");
const VERSION: &str = include_str!("guests/version.wat");
const FETCH: &str = include_str!("guests/fetch.wat");
const TCP_ECHO: &str = include_str!("guests/tcp_echo.wat");

/// Builds a component from a test guest: `;;COMMON` is replaced by the shared part, then each
/// `(from, to)` pair is applied to the text.
fn component(guest: &str, replacements: &[(&str, &str)]) -> Vec<u8> {
    let mut source = guest.replace(";;COMMON", COMMON);
    for (from, to) in replacements {
        assert!(
            source.contains(from),
            "the guest has no {from:?} to replace"
        );
        source = source.replace(from, to);
    }
    palisade_test_harness::wat_component(&source)
}

fn guest_file(name: &str) -> &'static str {
    match name {
        "loop" => include_str!("../../plugins/tests/guests/infinite_loop.wat"),
        "bomb" => include_str!("../../plugins/tests/guests/memory_bomb.wat"),
        "trap" => include_str!("../../plugins/tests/guests/trap.wat"),
        _ => unreachable!("no guest {name}"),
    }
}

/// Builds the `version` guest renamed `name` (four letters, like `echo`), returning
/// `"version-<n>"`.
fn version_plugin(name: &str, n: u8) -> Vec<u8> {
    let digit = format!("version-{n}");
    component(
        VERSION,
        &[("\"echo\"", &format!("\"{name}\"")), ("version-1", &digit)],
    )
}

/// Writes a plugin file the safe way: beside the target, then renamed over it.
fn install(folder: &Path, file: &str, bytes: &[u8]) {
    let staging = folder.join(format!(".{file}.partial"));
    std::fs::write(&staging, bytes).expect("write the plugin");
    std::fs::rename(&staging, folder.join(file)).expect("rename the plugin into place");
}

fn say(controller: &str) -> Value {
    json!({"controller": controller, "action": "say"})
}

/// Queries until `check` accepts the envelope, for up to 10 s.
async fn eventually(api: &Api, payload: Value, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let envelope = api.query(payload.clone(), None).await;
        if check(&envelope) {
            return envelope;
        }
        assert!(Instant::now() < deadline, "still {envelope} after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn start_with(plugins: &[(&str, Vec<u8>)], settings: &[(&str, &str)]) -> TestServer {
    let folder = tempfile::tempdir().expect("plugins folder").keep();
    for (file, bytes) in plugins {
        std::fs::write(folder.join(file), bytes).expect("write the plugin");
    }
    for (file, text) in settings {
        let path = folder.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).expect("create the settings folder");
        std::fs::write(path, text).expect("write the settings");
    }
    ServerBuilder::new(env!("CARGO_BIN_EXE_palisade"))
        .plugins_dir(folder)
        .start()
}

#[tokio::test]
async fn plugin_controller_answers_and_is_listed() {
    let server = start_with(&[("echo.wasm", version_plugin("echo", 1))], &[]);
    let api = Api::new(&server);

    assert_eq!(api.ok(say("echo"), None).await, "version-1");
    let over_http = reqwest::get(format!("{}/_/echo/say", server.http_url()))
        .await
        .unwrap();
    let envelope: Value = over_http.json().await.unwrap();
    assert_eq!(envelope["result"], "version-1");

    let public_api = api
        .ok(json!({"controller": "server", "action": "publicApi"}), None)
        .await;
    assert_eq!(public_api["echo"]["say"]["http"][0]["path"], "/_/echo/say");
    let info = api
        .ok(json!({"controller": "server", "action": "info"}), None)
        .await;
    let listed = &info["serverInfo"]["kuzzle"]["plugins"]["plugins"]["echo"];
    assert_eq!(listed["manifest"]["version"], "1.0.0");
    assert_eq!(listed["controllers"][0]["actions"], json!(["say"]));
    assert_eq!(listed["hash"].as_str().map(str::len), Some(64));

    let missing = api
        .query(json!({"controller": "echo", "action": "nope"}), None)
        .await;
    assert_eq!(error_id(&missing), "api.process.action_not_found");
}

#[tokio::test]
async fn hot_reload_under_load_loses_no_request() {
    let server = start_with(&[("echo.wasm", version_plugin("echo", 1))], &[]);
    let folder = server.plugins_dir.clone();
    let api = Arc::new(Api::new(&server));
    let running = Arc::new(AtomicBool::new(true));

    // Two clients send requests back to back and record every response.
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (api, running) = (Arc::clone(&api), Arc::clone(&running));
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while running.load(Ordering::Relaxed) && answers.len() < 100_000 {
                    answers.push(api.query(say("echo"), None).await);
                }
                answers
            })
        })
        .collect();

    for n in 2..=4 {
        install(&folder, "echo.wasm", &version_plugin("echo", n));
        let expected = format!("version-{n}");
        eventually(&api, say("echo"), |envelope| {
            envelope["result"] == expected.as_str()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.store(false, Ordering::Relaxed);

    for client in clients {
        let answers = client.await.unwrap();
        assert!(
            answers.len() > 10,
            "the clients kept sending during the reloads"
        );
        let mut highest = 1;
        for envelope in &answers {
            assert_eq!(
                envelope["status"], 200,
                "failed during a reload: {envelope}"
            );
            let answer = envelope["result"].as_str().expect("a version string");
            let n: u8 = answer.strip_prefix("version-").unwrap().parse().unwrap();
            assert!((1..=4).contains(&n), "unexpected answer {answer}");
            assert!(n >= highest, "an older version answered after a newer one");
            highest = n;
        }
    }
}

#[tokio::test]
async fn reload_broken_file_keeps_old_version() {
    let server = start_with(&[("echo.wasm", version_plugin("echo", 1))], &[]);
    let api = Api::new(&server);
    assert_eq!(api.ok(say("echo"), None).await, "version-1");

    install(
        &server.plugins_dir,
        "echo.wasm",
        b"\0asm but not a component",
    );
    let info = json!({"controller": "server", "action": "info"});
    let described = eventually(&api, info.clone(), |envelope| {
        envelope["result"]["serverInfo"]["kuzzle"]["plugins"]["loadErrors"]["echo.wasm"].is_string()
    })
    .await;
    let error = &described["result"]["serverInfo"]["kuzzle"]["plugins"]["loadErrors"]["echo.wasm"];
    assert!(error.as_str().unwrap().contains("compiling"), "{error}");
    assert_eq!(
        api.ok(say("echo"), None).await,
        "version-1",
        "the old version still serves"
    );

    std::fs::remove_file(server.plugins_dir.join("echo.wasm")).unwrap();
    let gone = eventually(&api, say("echo"), |envelope| envelope["status"] == 404).await;
    assert_eq!(error_id(&gone), "api.process.controller_not_found");
}

#[tokio::test]
async fn sandbox_failures_fail_only_their_request() {
    let plugins: Vec<(String, Vec<u8>)> = ["loop", "bomb", "trap"]
        .iter()
        .map(|name| {
            let bytes = component(guest_file(name), &[("\"echo\"", &format!("\"{name}\""))]);
            (format!("{name}.wasm"), bytes)
        })
        .collect();
    let plugins: Vec<(&str, Vec<u8>)> = plugins
        .iter()
        .map(|(file, bytes)| (file.as_str(), bytes.clone()))
        .collect();
    let settings = [
        ("loop.toml", "callTimeout = 300\n"),
        ("bomb.toml", "memoryLimit = \"4MB\"\n"),
    ];
    let server = start_with(&plugins, &settings);
    let api = Api::new(&server);
    let now = json!({"controller": "server", "action": "now"});

    let started = Instant::now();
    let timed_out = api.query(say("loop"), None).await;
    assert_eq!(
        error_id(&timed_out),
        "plugin.runtime.pipe_timeout",
        "{timed_out}"
    );
    assert_eq!(timed_out["status"], 504);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the deadline stopped the loop"
    );
    assert_eq!(api.query(now.clone(), None).await["status"], 200);

    let exhausted = api.query(say("bomb"), None).await;
    assert_eq!(error_id(&exhausted), "plugin.runtime.unexpected_error");
    let message = exhausted["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("bomb") && message.contains("memory limit"),
        "{message}"
    );
    assert_eq!(api.query(now.clone(), None).await["status"], 200);

    let trapped = api.query(say("trap"), None).await;
    assert_eq!(error_id(&trapped), "plugin.runtime.unexpected_error");
    assert!(
        trapped["error"]["message"]
            .as_str()
            .unwrap()
            .contains("trap")
    );
    assert_eq!(api.query(now, None).await["status"], 200);
    // The failed plugins stay loaded and fail the same way again, without side effects.
    assert_eq!(
        error_id(&api.query(say("trap"), None).await),
        "plugin.runtime.unexpected_error"
    );
}

#[tokio::test]
async fn plugin_api_call_uses_plugin_identity() {
    // The plugin's own identity has the `default` profile, which may not read roles once the
    // default rights are restricted.
    let caller = component(
        include_str!("../../plugins/tests/guests/echo.wat"),
        &[
            (
                "(data (i32.const 32) \"say\")",
                "(data (i32.const 32) \"cal\")",
            ),
            (
                r#"{\"controller\":\"server\",\"action\":\"now\"}"#,
                r#"{\"controller\":\"security\",\"action\":\"getRole\",\"_id\":\"admin\"}"#,
            ),
            ("(i32.const 38)", "(i32.const 58)"),
        ],
    );
    let server = start_with(
        &[("echo.wasm", caller)],
        &[("echo.toml", "[identity]\nprofiles = [\"default\"]\n")],
    );
    let api = Api::new(&server);
    let call = json!({"controller": "echo", "action": "cal"});

    let admin = api.create_first_admin().await;
    let anonymous = api.query(call.clone(), None).await;
    assert_eq!(
        error_id(&anonymous),
        "security.rights.unauthorized",
        "{anonymous}"
    );

    let denied = api.query(call, Some(&admin)).await;
    assert_eq!(error_id(&denied), "security.rights.forbidden", "{denied}");
    assert_eq!(denied["status"], 403);
    let message = denied["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("plugin:echo"),
        "the denial names the plugin identity: {message}"
    );
}

#[tokio::test]
async fn outbound_http_reaches_only_allowed_hosts() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    let fetch = |name: &str| {
        component(
            FETCH,
            &[
                ("\"echo\"", &format!("\"{name}\"")),
                ("\"URL\"", &format!("\"{url}\"")),
                ("URL_LENGTH", &url.len().to_string()),
            ],
        )
    };
    let allowed = format!("[http]\nallowedHosts = [\"127.0.0.1:{port}\"]\n");
    let server = start_with(
        &[("open.wasm", fetch("open")), ("shut.wasm", fetch("shut"))],
        &[("open.toml", allowed.as_str())],
    );
    let api = Api::new(&server);

    assert_eq!(api.ok(say("open"), None).await, "sent");
    let refused = api.query(say("shut"), None).await;
    assert_eq!(refused["status"], 403, "{refused}");
    assert_eq!(error_id(&refused), "plugin.runtime.capability_not_granted");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert_eq!(
        api.query(json!({"controller": "server", "action": "now"}), None)
            .await["status"],
        200
    );
}

/// Starts an HTTPS server on 127.0.0.1 with a certificate that `ca` signed, which responds to
/// every request with 200 `ok`. Returns its port.
async fn start_https_server(ca: &palisade_test_harness::TestCa) -> u16 {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&ca.server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(mut stream) = acceptor.accept(stream).await else {
                continue;
            };
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
            let _ = stream.shutdown().await;
        }
    });
    port
}

#[tokio::test]
async fn outbound_https_trusts_the_ca_file() {
    let ca = palisade_test_harness::TestCa::new();
    let port = start_https_server(&ca).await;
    let url = format!("https://127.0.0.1:{port}/");
    let fetch = |name: &str| {
        component(
            FETCH,
            &[
                ("\"echo\"", &format!("\"{name}\"")),
                ("\"URL\"", &format!("\"{url}\"")),
                ("URL_LENGTH", &url.len().to_string()),
            ],
        )
    };
    let allowed = format!("[http]\nallowedHosts = [\"127.0.0.1:{port}\"]\n");
    let trusting = format!("{allowed}[tls]\ncaFile = \"certs/ca.pem\"\n");
    let missing = format!("{allowed}[tls]\ncaFile = \"certs/missing.pem\"\n");
    let server = start_with(
        &[
            ("safe.wasm", fetch("safe")),
            ("bare.wasm", fetch("bare")),
            ("lost.wasm", fetch("lost")),
        ],
        &[
            ("certs/ca.pem", ca.ca_pem.as_str()),
            ("safe.toml", trusting.as_str()),
            ("bare.toml", allowed.as_str()),
            ("lost.toml", missing.as_str()),
        ],
    );
    let api = Api::new(&server);

    assert_eq!(api.ok(say("safe"), None).await, "sent");
    let untrusted = api.query(say("bare"), None).await;
    assert_eq!(untrusted["status"], 502, "{untrusted}");
    assert_eq!(error_id(&untrusted), "plugin.http.tls_failed");

    let info = api
        .ok(json!({"controller": "server", "action": "info"}), None)
        .await;
    let errors = &info["serverInfo"]["kuzzle"]["plugins"]["loadErrors"];
    let load_error = errors["lost.wasm"]
        .as_str()
        .expect("lost.wasm is a load error");
    assert!(load_error.contains("certs/missing.pem"), "{load_error}");
}

/// Starts a server on 127.0.0.1 that sends back what it reads, over TLS with a certificate that
/// `ca` signed when given. Returns its port.
async fn start_echo_server(ca: Option<&palisade_test_harness::TestCa>) -> u16 {
    let acceptor = ca.map(|ca| tokio_rustls::TlsAcceptor::from(Arc::clone(&ca.server_config)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Some(acceptor) = acceptor else {
                    let (mut reader, mut writer) = stream.into_split();
                    let _ = tokio::io::copy(&mut reader, &mut writer).await;
                    return;
                };
                if let Ok(secured) = acceptor.accept(stream).await {
                    let (mut reader, mut writer) = tokio::io::split(secured);
                    let _ = tokio::io::copy(&mut reader, &mut writer).await;
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn plugin_tcp_reaches_only_allowed_hosts() {
    let ca = palisade_test_harness::TestCa::new();
    let plain_port = start_echo_server(None).await;
    let tls_port = start_echo_server(Some(&ca)).await;
    let echo = |name: &str, port: u16, security: u8| {
        component(
            TCP_ECHO,
            &[
                ("\"echo\"", &format!("\"{name}\"")),
                ("PORT", &port.to_string()),
                ("SECURITY", &security.to_string()),
            ],
        )
    };
    let plain_grant = format!("[tcp]\nallowedHosts = [\"127.0.0.1:{plain_port}\"]\n");
    let tls_grant =
        format!("[tcp]\nallowedHosts = [\"127.0.0.1:{tls_port}\"]\n[tls]\ncaFile = \"ca.pem\"\n");
    let server = start_with(
        &[
            ("wire.wasm", echo("wire", plain_port, 0)),
            ("seal.wasm", echo("seal", tls_port, 1)),
            ("shut.wasm", echo("shut", plain_port, 0)),
            ("bare.wasm", echo("bare", tls_port, 1)),
        ],
        &[
            ("ca.pem", ca.ca_pem.as_str()),
            ("wire.toml", plain_grant.as_str()),
            ("seal.toml", tls_grant.as_str()),
            (
                "bare.toml",
                &tls_grant.replace("[tls]\ncaFile = \"ca.pem\"\n", ""),
            ),
        ],
    );
    let api = Api::new(&server);

    assert_eq!(api.ok(say("wire"), None).await, "ping");
    assert_eq!(api.ok(say("seal"), None).await, "ping");
    let rejected = api.query(say("shut"), None).await;
    assert_eq!(rejected["status"], 403, "{rejected}");
    assert_eq!(error_id(&rejected), "plugin.runtime.capability_not_granted");
    let untrusted = api.query(say("bare"), None).await;
    assert_eq!(untrusted["status"], 502, "{untrusted}");
    assert_eq!(error_id(&untrusted), "plugin.tcp.tls_failed");
}

#[tokio::test]
async fn pipe_error_reaches_client_unchanged() {
    // The shared guest with one pipe on `document:beforeCreate` that returns the guest's own
    // error: status 400, id `plugin.config.missing`, which is not in Kuzzle's catalogue.
    let rejecting = component(
        VERSION,
        &[
            (
                "(data (i32.const 400)",
                "(data (i32.const 448) \"\\d0\\01\\00\\00\\15\\00\\00\\00\")\n  \
                 (data (i32.const 464) \"document:beforeCreate\")\n  \
                 (data (i32.const 1052) \"\\c0\\01\\00\\00\\01\\00\\00\\00\")\n  \
                 (data (i32.const 400)",
            ),
            (
                "(i32.store8 (i32.const 2048) (i32.const 0))\n    \
                 (i32.store (i32.const 2052) (local.get $payload))",
                "(return (i32.const 1152))\n    \
                 (i32.store (i32.const 2052) (local.get $payload))",
            ),
        ],
    );
    let server = start_with(&[("echo.wasm", rejecting)], &[]);
    let api = Api::new(&server);
    api.ok(
        json!({"controller": "index", "action": "create", "index": "i"}),
        None,
    )
    .await;
    api.ok(
        json!({"controller": "collection", "action": "create", "index": "i", "collection": "c"}),
        None,
    )
    .await;

    let create = json!({"controller": "document", "action": "create", "index": "i",
        "collection": "c", "_id": "d", "body": {"n": 1}});
    let rejected = api.query(create, None).await;
    assert_eq!(rejected["status"], 400, "{rejected}");
    assert_eq!(rejected["error"]["id"], "plugin.config.missing");
    assert_eq!(rejected["error"]["message"], "The configuration is empty.");

    let exists = json!({"controller": "document", "action": "exists", "index": "i",
        "collection": "c", "_id": "d"});
    assert_eq!(
        api.ok(exists, None).await,
        false,
        "the rejected document was not written"
    );
    let info = api
        .ok(json!({"controller": "server", "action": "info"}), None)
        .await;
    let pipes = &info["serverInfo"]["kuzzle"]["plugins"]["plugins"]["echo"]["pipes"];
    assert_eq!(pipes, &json!(["document:beforeCreate"]));
}

#[tokio::test]
async fn name_clashes_are_load_errors() {
    // `a.wasm` loads first (files load in name order), so `b.wasm`, with the same names, clashes.
    // `c.wasm` names its controller `auth`, which is native.
    let server = start_with(
        &[
            ("a.wasm", version_plugin("echo", 1)),
            ("b.wasm", version_plugin("echo", 2)),
            ("c.wasm", version_plugin("auth", 3)),
        ],
        &[],
    );
    let api = Api::new(&server);
    assert_eq!(api.ok(say("echo"), None).await, "version-1");

    let info = api
        .ok(json!({"controller": "server", "action": "info"}), None)
        .await;
    let errors = &info["serverInfo"]["kuzzle"]["plugins"]["loadErrors"];
    let clash = errors["b.wasm"].as_str().expect("b.wasm is a load error");
    assert!(clash.contains("\"echo\" is already loaded from"), "{clash}");
    let native = errors["c.wasm"].as_str().expect("c.wasm is a load error");
    assert!(native.contains("native controller"), "{native}");
    let login = json!({"controller": "auth", "action": "checkToken", "body": {"token": ""}});
    assert_eq!(
        api.query(login, None).await["status"],
        200,
        "the native auth controller serves"
    );
}

#[tokio::test]
async fn core_events_reach_hooks() {
    // The version guest with one hook on `core:*` that logs the event name through `log.write`.
    let logging = component(
        &VERSION.replace(
            "(module\n",
            "(module\n  (import \"palisade:plugin/log@0.1.0\" \"write\" (func $log (param i32 i32 i32)))\n",
        ),
        &[
            (
                "(data (i32.const 400)",
                "(data (i32.const 448) \"\\d0\\01\\00\\00\\06\\00\\00\\00\")\n  \
                 (data (i32.const 464) \"core:*\")\n  \
                 (data (i32.const 1060) \"\\c0\\01\\00\\00\\01\\00\\00\\00\")\n  \
                 (data (i32.const 400)",
            ),
            (
                "    (call $drop_request (local.get 2)))",
                "    (call $drop_request (local.get 2))\n    \
                 (call $log (i32.const 2) (local.get 0) (local.get 1)))",
            ),
        ],
    );
    let mut server = start_with(&[("echo.wasm", logging)], &[]);
    let logged = |server: &TestServer, event: &str| {
        server
            .output()
            .iter()
            .any(|line| line.contains(event) && line.contains("echo"))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !logged(&server, "core:kuzzleStart") {
        assert!(
            Instant::now() < deadline,
            "no core:kuzzleStart hook: {:?}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (mut socket, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let subscribe = json!({"controller": "realtime", "action": "subscribe", "index": "i",
        "collection": "c", "body": {}});
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            subscribe.to_string().into(),
        ))
        .await
        .unwrap();
    let _ = socket.next().await;
    while !logged(&server, "core:realtime:user:subscribe:after") {
        assert!(
            Instant::now() < deadline,
            "no subscription hook: {:?}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(socket);

    server.stop();
    assert!(
        logged(&server, "core:shutdown"),
        "no shutdown hook: {:?}",
        server.output()
    );
}
