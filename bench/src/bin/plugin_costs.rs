//! Measures what plugins cost. A controller action as a Rust plugin and as a JavaScript plugin
//! runs against a native action, and two pipes on `document:get` against no pipe. The reload time
//! goes from a plugin file change to the first response of the new version, with a cold and a
//! warm compiled-code cache.
//!
//! Every server runs in this process on its own two-worker Tokio runtime. Latencies come from one
//! WebSocket connection sending requests back to back; throughput from `CONNECTIONS`
//! connections. Rounds alternate between the variants and the best round of each is reported.
//! The plugin actions are measured again in pairs of rounds against the native action.
//!
//! The plugins come from `scripts/build-plugins.sh` (folder `PALISADE_PLUGINS_BUILD_DIR`, by
//! default `target/plugins`); the JavaScript greeting is `greeting-js.wasm` in the same folder
//! and is skipped when absent. The pipes are Rust plugins that return their payload unchanged:
//! `bench/plugins/pipe` reads neither the payload nor the request, `bench/plugins/pipe-parse`
//! parses the document. Each runs in a server of its own, and again in one server where it is
//! loaded and unloaded between rounds.
//!
//! Run: `bench/plugin-costs.sh`

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const CONNECTIONS: usize = 16;
const DURATION: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;
/// Pairs of rounds, without and with the pipe, of the same-server pipe measurement.
const SAME_SERVER_PAIRS: usize = 9;
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
    let built = palisade_bench::built_plugins();
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
    let pipes = [
        ("pass-through", Some(built.join("pipe.wasm"))),
        ("parsing", Some(built.join("pipe-parse.wasm"))),
        ("none (control)", None),
    ];
    let pipes: Vec<(&str, Option<&Path>)> = pipes
        .iter()
        .map(|(name, wasm)| (*name, wasm.as_deref()))
        .collect();
    if let Some(only) = &only {
        let pipes: Vec<_> = pipes
            .into_iter()
            .filter(|(name, _)| name.contains(only.as_str()))
            .collect();
        pipe_same_server(&client, &pipes, &get);
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
    let mut actions = vec![("Rust", &cases[1].2)];
    if has_javascript {
        actions.push(("JavaScript", &cases[2].2));
    }
    actions_paired(&client, plugged.0, &cases[0].2, &actions);
    let no_pipe = best[best.len() - 3].0.p50_us;
    let (through, parsing) = (best[best.len() - 2].0.p50_us, best[best.len() - 1].0.p50_us);
    println!(
        "pipe p50 − no pipe p50: {:.1} µs pass-through, {:.1} µs parsing",
        through - no_pipe,
        parsing - no_pipe
    );
    pipe_same_server(&client, &pipes, &get);

    reload_times(&client);
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

/// Measures each pipe's cost a second way, on one server: rounds without the pipe and rounds
/// with it, the pipe's file added and removed between rounds and each round starting once the
/// server reports the change. Both variants run on the same server, runtime threads and data, so
/// the only difference is the pipe. The order flips at every pair of rounds, so a drift of the
/// machine during the run counts against both variants alike. The control pair installs nothing:
/// what two rounds of the same server measure apart.
fn pipe_same_server(
    client: &tokio::runtime::Runtime,
    pipes: &[(&str, Option<&Path>)],
    request: &Value,
) {
    println!(
        "\nThe same server with and without the pipe, {SAME_SERVER_PAIRS} pairs of {} s rounds over 1 connection:",
        DURATION.as_secs()
    );
    println!("| pipe | pair | without p50 µs | with p50 µs | difference µs |");
    println!("|---|---|---|---|---|");
    let mut summaries = Vec::new();
    for (pipe, wasm) in pipes {
        let folder = tempfile::tempdir().unwrap();
        let server = start(folder.path(), 50);
        client.block_on(seed_document(server.0));
        let mut costs = Vec::new();
        for pair in 1..=SAME_SERVER_PAIRS {
            let mut with = Measure::default();
            let mut without = Measure::default();
            let order = if pair % 2 == 1 {
                [false, true]
            } else {
                [true, false]
            };
            for installed in order {
                let wasm = wasm.filter(|_| installed);
                client.block_on(install_pipe(server.0, folder.path(), wasm));
                let measure = client.block_on(load(server.0, request, 1));
                if installed {
                    with = measure;
                } else {
                    without = measure;
                }
            }
            let cost = with.p50_us - without.p50_us;
            costs.push(cost);
            println!(
                "| {pipe} | {pair} | {:.1} | {:.1} | {cost:.1} |",
                without.p50_us, with.p50_us
            );
        }
        summaries.push(paired_summary(&format!("{pipe} pipe"), &mut costs));
    }
    println!();
    for summary in summaries {
        println!("{summary}");
    }
}

/// Measures each plugin action against the native one a second way, on the same server: pairs
/// of rounds, one round of each action, the order flipping at every pair, so that a drift of the
/// machine counts against both alike. The cost is the median over pairs of the difference of the
/// p50s.
fn actions_paired(
    client: &tokio::runtime::Runtime,
    address: SocketAddr,
    native: &Value,
    actions: &[(&str, &Value)],
) {
    println!(
        "\nEach plugin action against the native one on the same server, {SAME_SERVER_PAIRS} pairs of {} s rounds over 1 connection:",
        DURATION.as_secs()
    );
    println!("| plugin | pair | native p50 µs | plugin p50 µs | difference µs |");
    println!("|---|---|---|---|---|");
    let mut summaries = Vec::new();
    for (language, action) in actions {
        let mut costs = Vec::new();
        for pair in 1..=SAME_SERVER_PAIRS {
            let order = if pair % 2 == 1 {
                [native, *action]
            } else {
                [*action, native]
            };
            let first = client.block_on(load(address, order[0], 1)).p50_us;
            let second = client.block_on(load(address, order[1], 1)).p50_us;
            let (native_p50, plugin_p50) = if pair % 2 == 1 {
                (first, second)
            } else {
                (second, first)
            };
            let cost = plugin_p50 - native_p50;
            costs.push(cost);
            println!("| {language} | {pair} | {native_p50:.1} | {plugin_p50:.1} | {cost:.1} |");
        }
        summaries.push(paired_summary(
            &format!("{language} plugin action"),
            &mut costs,
        ));
    }
    println!();
    for summary in summaries {
        println!("{summary}");
    }
}

/// Puts the pipe `wasm` in the server's plugins folder, or removes any pipe for `None`, and waits
/// until `server:info` lists the plugins the folder now holds.
async fn install_pipe(address: SocketAddr, folder: &Path, wasm: Option<&Path>) {
    let file = folder.join("pipe.wasm");
    match wasm {
        Some(wasm) => {
            let staging = folder.join(".pipe.partial");
            std::fs::copy(wasm, &staging).unwrap();
            std::fs::rename(&staging, &file).unwrap();
        }
        None => {
            if file.exists() {
                std::fs::remove_file(&file).unwrap();
            }
        }
    }
    let expected = usize::from(wasm.is_some());
    let mut socket = connect(address).await;
    let started = Instant::now();
    loop {
        let info = send(
            &mut socket,
            &json!({"controller": "server", "action": "info"}),
        )
        .await;
        let plugins = &info["result"]["serverInfo"]["kuzzle"]["plugins"]["plugins"];
        if plugins.as_object().map_or(0, serde_json::Map::len) == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the pipe never changed: {plugins}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Formats the median and the range of the differences measured in pairs of rounds.
fn paired_summary(label: &str, costs: &mut [f64]) -> String {
    let low = costs.iter().copied().fold(f64::INFINITY, f64::min);
    let high = costs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{label}, same server, median of {SAME_SERVER_PAIRS} pairs: {:.1} µs ({low:.1} to {high:.1})",
        median(costs)
    )
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
