//! Times one plugin call, `Plugin::run_pipe`, outside the server: in a loop with warm caches, then
//! with a buffer written between calls so that the call finds the caches cold, as it does between
//! two requests in the server. The guests are the benchmark's pass-through pipe
//! (`bench/plugins/pipe`, a Rust guest) and the WAT test guest, whose pipe returns its payload
//! without allocating: the difference between the two is the guest's share.
//!
//! Run: `bench/plugin-costs.sh` builds the pipe first; then
//! `cargo run --release -p palisade-bench --bin plugin_call`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::sync::Arc;
use std::time::Instant;

use palisade_plugins::{Plugin, PluginHost, PluginHostConfig, Request, RequestParts, User};

const COMMON: &str = include_str!("../../../runtime/plugins/tests/guests/common.wat");
const TRAP: &str = include_str!("../../../runtime/plugins/tests/guests/trap.wat");
const CALLS: usize = 20_000;
/// Sizes of the buffer written between two calls, in MiB; 16 MiB is the L3 cache of the machine
/// of BENCHMARKS.md.
const BUFFERS_MIB: [usize; 3] = [0, 4, 16];

fn main() {
    let host = PluginHost::new(PluginHostConfig::default()).expect("the plugin host starts");
    let built = palisade_bench::built_plugins().join("pipe.wasm");
    let rust = std::fs::read(&built)
        .unwrap_or_else(|error| panic!("{}: {error}; run bench/plugin-costs.sh", built.display()));
    let wat = palisade_test_harness::wat_component(&TRAP.replace(";;COMMON", COMMON));
    let guests = [("Rust pass-through pipe", rust), ("WAT pipe", wat)];

    let request = Arc::new(document_get());
    println!("| guest | MiB written between calls | p50 ns | mean ns |");
    println!("|---|---|---|---|");
    for (name, bytes) in guests {
        let plugin = host.load(name, &bytes).expect("the guest loads");
        for mib in BUFFERS_MIB {
            let (p50, mean) = time_calls(&plugin, &request, mib);
            println!("| {name} | {mib} | {p50:.0} | {mean:.0} |");
        }
    }
}

/// Returns the request of the benchmark's `document:get`, as the server lends it.
fn document_get() -> Request {
    Request::new(RequestParts {
        request_id: "0b6c2a4e-3f1d-4c5a-9e8b-7d6f5e4c3b2a".to_owned(),
        controller: "document".to_owned(),
        action: "get".to_owned(),
        args: r#"{"index":"bench","collection":"c","_id":"d"}"#.to_owned(),
        body: None,
        volatile: None,
        user: User {
            id: "-1".to_owned(),
            profile_ids: vec!["anonymous".to_owned()],
        },
        protocol: "websocket".to_owned(),
        connection_id: "5f8e2c1a-7b3d-4e6f-8a9c-0d1e2f3a4b5c".to_owned(),
    })
}

/// Returns the p50 and the mean of `CALLS` calls in nanoseconds, with `mib` MiB written before
/// each call.
fn time_calls(plugin: &Plugin, request: &Arc<Request>, mib: usize) -> (f64, f64) {
    let payload = r#"{"_id":"d","_index":"bench","_collection":"c","_source":{"title":"a document","n":1,"_kuzzle_info":{"author":"-1","createdAt":1764930000000,"updatedAt":null,"updater":null}},"_version":1}"#;
    let mut buffer = vec![0_u8; mib * 1024 * 1024];
    let mut times = Vec::with_capacity(CALLS);
    for call in 0..CALLS {
        // One write per cache line evicts what the call used last time.
        for line in buffer.chunks_mut(64) {
            line[0] = line[0].wrapping_add(call as u8);
        }
        let started = Instant::now();
        let returned = plugin.run_pipe("document:afterGet", request, payload);
        let elapsed = started.elapsed();
        let returned = returned.expect("the call completes");
        assert!(
            returned.is_ok_and(|text| text == payload),
            "the pipe returns its payload"
        );
        times.push(elapsed.as_nanos() as f64);
    }
    std::hint::black_box(&buffer);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], mean)
}
