//! Measures what plugins cost. A controller action as a Rust plugin and as a JavaScript plugin
//! runs against a native action, and two pipes on `document:get` against no pipe. The reload time
//! goes from a plugin file change to the first response of the new version, with a cold and a
//! warm compiled-code cache.
//!
//! Every server runs in this process on its own two-worker Tokio runtime. Latencies come from one
//! WebSocket connection sending requests back to back; throughput from `CONNECTIONS`
//! connections. Rounds alternate between the variants and the best round of each is reported.
//!
//! The plugins come from `scripts/build-plugins.sh` (folder `PALISADE_PLUGINS_BUILD_DIR`, by
//! default `target/plugins`); the JavaScript greeting is `greeting-js.wasm` in the same folder
//! and is skipped when absent. The pipes are Rust plugins that return their payload unchanged:
//! `bench/plugins/pipe` reads neither the payload nor the request, `bench/plugins/pipe-parse`
//! parses the document. Each runs in a server of its own.
//!
//! Run: `bench/plugin-costs.sh`

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const CONNECTIONS: usize = 16;
const DURATION: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;
/// Rounds of the interleaved pipe measurement, whose rounds vary more than its pairs do.
const INTERLEAVED_ROUNDS: usize = 9;
/// Reloads per cache state; versions are single digits, so at most 9.
const RELOADS: usize = 5;

const COMMON: &str = include_str!("../../../runtime/plugins/tests/guests/common.wat");
const VERSION: &str = include_str!("../../../runtime/server/tests/guests/version.wat");

#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    requests_per_second: f64,
    p50_us: f64,
    p99_us: f64,
}

fn main() {
    let built = built_plugins();
    let with_plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        built.join("greeting.wasm"),
        with_plugins.path().join("greeting.wasm"),
    )
    .expect("greeting.wasm: run scripts/build-plugins.sh first");
    let javascript = built.join("greeting-js.wasm");
    let has_javascript = javascript.exists();
    if has_javascript {
        std::fs::copy(&javascript, with_plugins.path().join("greeting-js.wasm")).unwrap();
    }
    std::fs::copy(
        built.join("pipe.wasm"),
        with_plugins.path().join("pipe.wasm"),
    )
    .expect("pipe.wasm: run bench/plugin-costs.sh, which builds bench/plugins/pipe");
    let with_parsing_pipe = tempfile::tempdir().unwrap();
    std::fs::copy(
        built.join("pipe-parse.wasm"),
        with_parsing_pipe.path().join("pipe-parse.wasm"),
    )
    .expect("pipe-parse.wasm: run bench/plugin-costs.sh, which builds bench/plugins/pipe-parse");
    let no_plugins = tempfile::tempdir().unwrap();

    let plugged = start(with_plugins.path(), 0);
    let parsing = start(with_parsing_pipe.path(), 0);
    let plain = start(no_plugins.path(), 0);
    let client = runtime();
    for address in [plugged.0, parsing.0, plain.0] {
        client.block_on(seed_document(address));
    }
    client.block_on(check_plugins(plugged.0, has_javascript));

    println!(
        "WebSocket; latency over 1 connection, throughput over {CONNECTIONS}; best of {ROUNDS} rounds of {} s\n",
        DURATION.as_secs()
    );
    println!("| request | server | requests/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|");
    let hello = json!({"controller": "greeting", "action": "sayHello", "name": "Ada"});
    let hello_js = json!({"controller": "greetingJs", "action": "sayHello", "name": "Ada"});
    let now = json!({"controller": "server", "action": "now"});
    let get = json!({"controller": "document", "action": "get", "index": "bench", "collection": "c", "_id": "d"});

    let mut cases = vec![
        ("server:now (native)", plugged.0, now),
        ("greeting:sayHello (Rust plugin)", plugged.0, hello),
    ];
    if has_javascript {
        cases.push((
            "greetingJs:sayHello (JavaScript plugin)",
            plugged.0,
            hello_js,
        ));
    }
    cases.push(("document:get, no pipe", plain.0, get.clone()));
    cases.push(("document:get, pass-through pipe", plugged.0, get.clone()));
    cases.push((
        "document:get, pipe parsing the document",
        parsing.0,
        get.clone(),
    ));
    // `PLUGIN_COSTS_ONLY=pipe` keeps the cases whose name contains `pipe`, for profiling one case.
    let only = std::env::var("PLUGIN_COSTS_ONLY").ok();
    if let Some(only) = &only {
        cases.retain(|(name, _, _)| name.contains(only.as_str()));
    }
    let mut best = vec![(Measure::default(), Measure::default()); cases.len()];
    for _ in 0..ROUNDS {
        for (position, (_, address, request)) in cases.iter().enumerate() {
            let latency = client.block_on(load(*address, request, 1));
            let throughput = client.block_on(load(*address, request, CONNECTIONS));
            let (best_latency, best_throughput) = &mut best[position];
            if best_latency.p50_us == 0.0 || latency.p50_us < best_latency.p50_us {
                *best_latency = latency;
            }
            if throughput.requests_per_second > best_throughput.requests_per_second {
                *best_throughput = throughput;
            }
        }
    }
    for ((name, _, _), (latency, throughput)) in cases.iter().zip(&best) {
        println!(
            "| {name} | {} | {:.0} | {:.1} | {:.1} |",
            if name.contains("no pipe") {
                "no plugins"
            } else {
                "with plugins"
            },
            throughput.requests_per_second,
            latency.p50_us,
            latency.p99_us
        );
    }
    // A second server without plugins is the control: what two identical servers measure apart.
    let control = start(no_plugins.path(), 0);
    client.block_on(seed_document(control.0));
    let pipes = [
        ("pass-through", plugged.0),
        ("parsing", parsing.0),
        ("none (control)", control.0),
    ];
    if only.is_some() {
        pipe_interleaved(&client, plain.0, &pipes, &get);
        return;
    }
    let native = best[0].0.p50_us;
    println!(
        "\nRust plugin action p50 − native p50: {:.1} µs",
        best[1].0.p50_us - native
    );
    if has_javascript {
        println!(
            "JavaScript plugin action p50 − native p50: {:.1} µs",
            best[2].0.p50_us - native
        );
    }
    let no_pipe = best[best.len() - 3].0.p50_us;
    let (through, parsing) = (best[best.len() - 2].0.p50_us, best[best.len() - 1].0.p50_us);
    println!(
        "pipe p50 − no pipe p50: {:.1} µs pass-through, {:.1} µs parsing",
        through - no_pipe,
        parsing - no_pipe
    );
    pipe_interleaved(&client, plain.0, &pipes, &get);

    reload_times(&client);
}

fn built_plugins() -> PathBuf {
    if let Some(folder) = std::env::var_os("PALISADE_PLUGINS_BUILD_DIR") {
        return PathBuf::from(folder);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("plugins")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts a server on `plugins`; `watch_interval` 0 keeps the settings' default.
fn start(plugins: &Path, watch_interval: u64) -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = runtime();
    let data = tempfile::tempdir().unwrap().keep();
    let mut config = palisade_server::Config {
        port: 0,
        data_dir: data.clone(),
        plugins_dir: plugins.to_owned(),
        ..Default::default()
    };
    config.limits.concurrent_requests = 1000;
    if watch_interval > 0 {
        config.plugins.watch_interval = watch_interval;
    }
    let server = runtime.block_on(palisade_server::start(config)).unwrap();
    let address = server.address;
    std::mem::forget(server);
    (address, runtime)
}

/// Builds a component from a WAT test guest, with text replacements.
fn component(guest: &str, replacements: &[(&str, &str)]) -> Vec<u8> {
    let mut source = guest.replace(";;COMMON", COMMON);
    for (from, to) in replacements {
        source = source.replace(from, to);
    }
    palisade_test_harness::wat_component(&source)
}

/// Checks that the plugins under test loaded, with the pipe on `document:afterGet`.
async fn check_plugins(address: SocketAddr, has_javascript: bool) {
    let mut socket = connect(address).await;
    let info = send(
        &mut socket,
        &json!({"controller": "server", "action": "info"}),
    )
    .await;
    let plugins = &info["result"]["serverInfo"]["kuzzle"]["plugins"];
    assert_eq!(
        plugins["plugins"]["pipe"]["pipes"],
        json!(["document:afterGet"]),
        "{plugins}"
    );
    assert!(plugins["plugins"]["greeting"].is_object(), "{plugins}");
    assert_eq!(
        plugins["plugins"]["greeting-js"].is_object(),
        has_javascript,
        "{plugins}"
    );
}

async fn seed_document(address: SocketAddr) {
    let mut socket = connect(address).await;
    let index = json!({"controller": "index", "action": "create", "index": "bench"});
    let reply = send(&mut socket, &index).await;
    assert_eq!(reply["status"], 200, "{reply}");
    for request in [
        json!({"controller": "collection", "action": "create", "index": "bench", "collection": "c"}),
        json!({"controller": "document", "action": "create", "index": "bench", "collection": "c",
            "_id": "d", "body": {"title": "a document", "n": 1}}),
    ] {
        let reply = send(&mut socket, &request).await;
        assert_eq!(reply["status"], 200, "{reply}");
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(address: SocketAddr) -> Socket {
    // A small read buffer, as the server uses: the codec zeroes the whole buffer before each read,
    // and 128 KiB per reply would crowd the caches of the cores the servers run on.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    tokio_tungstenite::connect_async_with_config(format!("ws://{address}/"), Some(config), false)
        .await
        .unwrap()
        .0
}

async fn send(socket: &mut Socket, request: &Value) -> Value {
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
    loop {
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn load(address: SocketAddr, request: &Value, connections: usize) -> Measure {
    let deadline = Instant::now() + DURATION;
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut socket = connect(address).await;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let reply = send(&mut socket, &request).await;
                    assert_eq!(reply["status"], 200, "{reply}");
                    latencies.push(sent.elapsed().as_nanos() as u64);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)] as f64 / 1000.0
    };
    Measure {
        requests_per_second: latencies.len() as f64 / elapsed,
        p50_us: percentile(0.5),
        p99_us: percentile(0.99),
    }
}

/// Measures each pipe's cost a second way: one connection to the server without plugins and one
/// to the server of the pipe, requests alternating between them, so both latencies are sampled
/// under the same machine conditions. Prints the p50 of each and of the per-pair differences for
/// `INTERLEAVED_ROUNDS` rounds of each pipe in a row, then the median of those rounds. Rounds of
/// one pipe run in a row: alternating pipes between rounds measured the pass-through pipe about
/// 5 µs higher, with the other servers' work between its rounds.
fn pipe_interleaved(
    client: &tokio::runtime::Runtime,
    plain: SocketAddr,
    pipes: &[(&str, SocketAddr)],
    request: &Value,
) {
    println!("\nInterleaved document:get, one connection per server, requests alternating:");
    println!(
        "| pipe | round | pairs | no pipe p50 µs | pipe p50 µs | p50 of pair differences µs |"
    );
    println!("|---|---|---|---|---|---|");
    let mut summaries = Vec::new();
    for (pipe, address) in pipes {
        let mut costs = Vec::new();
        for round in 1..=INTERLEAVED_ROUNDS {
            let (without, with) = client.block_on(alternate(plain, *address, request));
            let mut differences: Vec<f64> = with.iter().zip(&without).map(|(a, b)| a - b).collect();
            let cost = median(&mut differences);
            costs.push(cost);
            println!(
                "| {pipe} | {round} | {} | {:.1} | {:.1} | {cost:.1} |",
                without.len(),
                median(&mut without.clone()),
                median(&mut with.clone()),
            );
        }
        summaries.push(format!(
            "{pipe} pipe, median of {INTERLEAVED_ROUNDS} rounds: {:.1} µs",
            median(&mut costs)
        ));
    }
    println!();
    for summary in summaries {
        println!("{summary}");
    }
}

/// Sends `request` to `first` and `second` in turn, back to back for `DURATION`, and returns the
/// latencies in µs of each, pair by pair. The order flips at every pair: the request sent second
/// waits about 4 µs more (measured with two servers without plugins), so a fixed order would
/// charge that to one server.
async fn alternate(first: SocketAddr, second: SocketAddr, request: &Value) -> (Vec<f64>, Vec<f64>) {
    let mut sockets = [connect(first).await, connect(second).await];
    let mut latencies = (Vec::new(), Vec::new());
    let deadline = Instant::now() + DURATION;
    let mut order = [0, 1];
    while Instant::now() < deadline {
        for position in order {
            let sent = Instant::now();
            let reply = send(&mut sockets[position], request).await;
            assert_eq!(reply["status"], 200, "{reply}");
            let micros = sent.elapsed().as_secs_f64() * 1e6;
            if position == 0 {
                latencies.0.push(micros);
            } else {
                latencies.1.push(micros);
            }
        }
        order.reverse();
    }
    latencies
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Replaces a small plugin and measures the time until it serves the new version: first with
/// versions never compiled (cold cache), then with versions compiled before (warm cache).
fn reload_times(client: &tokio::runtime::Runtime) {
    let folder = tempfile::tempdir().unwrap();
    let version = |n: usize| component(VERSION, &[("version-1", &format!("version-{n}"))]);
    std::fs::write(folder.path().join("echo.wasm"), version(0)).unwrap();
    let server = start(folder.path(), 50);

    let mut cold = Vec::new();
    let mut warm = Vec::new();
    // Rounds 0..RELOADS install versions never compiled; the next rounds install them again,
    // compiled. Two rounds in a row never install the same version.
    for round in 0..RELOADS * 2 {
        let n = round % RELOADS + 1;
        let elapsed = client.block_on(reload(server.0, folder.path(), &version(n), n));
        if round < RELOADS {
            cold.push(elapsed);
        } else {
            warm.push(elapsed);
        }
    }
    println!(
        "\nHot reload of a 2 KB plugin, file rename to first answer of the new version (plugins.watchInterval = 50 ms), median of {RELOADS}:"
    );
    println!("| cache | ms |\n|---|---|");
    println!("| cold | {:.0} |", median(&mut cold));
    println!("| warm | {:.0} |", median(&mut warm));
}

/// Installs `bytes` by rename and returns the milliseconds until `echo:say` returns version `n`.
async fn reload(address: SocketAddr, folder: &Path, bytes: &[u8], n: usize) -> f64 {
    let mut socket = connect(address).await;
    let staging = folder.join(".echo.partial");
    std::fs::write(&staging, bytes).unwrap();
    let expected = format!("version-{n}");
    let started = Instant::now();
    std::fs::rename(&staging, folder.join("echo.wasm")).unwrap();
    loop {
        let reply = send(&mut socket, &json!({"controller": "echo", "action": "say"})).await;
        if reply["result"] == expected.as_str() {
            return started.elapsed().as_secs_f64() * 1000.0;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "version {n} never served"
        );
    }
}
