//! `server:now` through Palisade against a bare axum handler that returns the same JSON.
//!
//! Both servers run in this process, each on its own two-worker Tokio runtime, and are measured
//! one after the other with the same load: `CONNECTIONS` clients each sending requests back to
//! back for `DURATION`, over HTTP keep-alive and over WebSocket. Rounds alternate between the
//! two servers so machine noise hits both alike; the best round of each is reported.
//!
//! Run: `cargo run --release -p palisade-bench --bin api_vs_axum`

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
use axum::response::IntoResponse;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const CONNECTIONS: usize = 32;
const DURATION: Duration = Duration::from_secs(4);
const ROUNDS: usize = 3;

#[derive(Debug, Clone, Copy)]
enum Protocol {
    Http,
    WebSocket,
}

#[derive(Debug, Clone, Copy)]
struct Measure {
    requests_per_second: f64,
    p50_us: f64,
    p99_us: f64,
}

fn main() {
    let palisade = start_palisade();
    let bare = start_bare_axum();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    println!(
        "server:now, {CONNECTIONS} connections, {} s per round, best of {ROUNDS} rounds\n",
        DURATION.as_secs()
    );
    println!("| protocol | server | requests/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|");
    for protocol in [Protocol::Http, Protocol::WebSocket] {
        let mut best_palisade: Option<Measure> = None;
        let mut best_bare: Option<Measure> = None;
        for _ in 0..ROUNDS {
            let measured = client.block_on(load(protocol, palisade.0));
            best_palisade = Some(better(best_palisade, measured));
            let measured = client.block_on(load(protocol, bare.0));
            best_bare = Some(better(best_bare, measured));
        }
        let (p, b) = (best_palisade.unwrap(), best_bare.unwrap());
        let name = format!("{protocol:?}");
        println!(
            "| {name} | palisade | {:.0} | {:.0} | {:.0} |",
            p.requests_per_second, p.p50_us, p.p99_us
        );
        println!(
            "| {name} | bare axum | {:.0} | {:.0} | {:.0} |",
            b.requests_per_second, b.p50_us, b.p99_us
        );
        println!(
            "| {name} | ratio | {:.2}× | | |",
            p.requests_per_second / b.requests_per_second
        );
    }
}

fn better(best: Option<Measure>, measured: Measure) -> Measure {
    match best {
        Some(best) if best.requests_per_second >= measured.requests_per_second => best,
        _ => measured,
    }
}

fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn start_palisade() -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = server_runtime();
    let mut config = palisade_server::Config {
        port: 0,
        ..Default::default()
    };
    config.limits.concurrent_requests = 1000;
    let server = runtime.block_on(palisade_server::start(config)).unwrap();
    let address = server.address;
    std::mem::forget(server);
    (address, runtime)
}

fn start_bare_axum() -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = server_runtime();
    let address = runtime.block_on(async {
        let app = axum::Router::new()
            .route(
                "/_now",
                axum::routing::get(|| async {
                    axum::Json(now_envelope(&uuid::Uuid::new_v4().to_string(), false))
                }),
            )
            .route("/", axum::routing::get(bare_websocket));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    (address, runtime)
}

/// The same envelope Palisade returns for `server:now`.
fn now_envelope(request_id: &str, with_room: bool) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut envelope = json!({
        "requestId": request_id, "status": 200, "error": null, "result": {"now": now},
        "controller": "server", "action": "now", "volatile": null, "node": "knode-bare", "headers": {}
    });
    if with_room {
        envelope["room"] = json!(request_id);
    }
    envelope
}

async fn bare_websocket(upgrade: WebSocketUpgrade) -> impl IntoResponse {
    upgrade.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(message)) = socket.next().await {
            if let AxumMessage::Text(text) = message {
                let request: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let id = request["requestId"].as_str().unwrap_or_default().to_owned();
                let reply = now_envelope(&id, true).to_string();
                if socket.send(AxumMessage::Text(reply.into())).await.is_err() {
                    break;
                }
            }
        }
    })
}

async fn load(protocol: Protocol, address: SocketAddr) -> Measure {
    let deadline = Instant::now() + DURATION;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        tasks.push(tokio::spawn(match protocol {
            Protocol::Http => Box::pin(http_client(address, deadline))
                as std::pin::Pin<Box<dyn Future<Output = Vec<u32>> + Send>>,
            Protocol::WebSocket => Box::pin(websocket_client(address, deadline)),
        }));
    }

    let started = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)] as f64;
    Measure {
        requests_per_second: latencies.len() as f64 / elapsed,
        p50_us: percentile(0.5),
        p99_us: percentile(0.99),
    }
}

/// Sends `GET /_now` back to back on one keep-alive connection; returns latencies in µs.
async fn http_client(address: SocketAddr, deadline: Instant) -> Vec<u32> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let url = format!("http://{address}/_now");
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let sent = Instant::now();
        let body = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(!body.is_empty());
        latencies.push(sent.elapsed().as_micros() as u32);
    }
    latencies
}

/// Sends `server:now` frames back to back on one socket; returns latencies in µs.
async fn websocket_client(address: SocketAddr, deadline: Instant) -> Vec<u32> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/"))
        .await
        .unwrap();
    let mut latencies = Vec::new();
    let mut counter = 0u64;
    while Instant::now() < deadline {
        counter += 1;
        let request =
            json!({"controller": "server", "action": "now", "requestId": format!("r{counter}")});
        let sent = Instant::now();
        socket
            .send(Message::Text(request.to_string().into()))
            .await
            .unwrap();
        loop {
            if let Some(Ok(Message::Text(_))) = socket.next().await {
                break;
            }
        }
        latencies.push(sent.elapsed().as_micros() as u32);
    }
    let _ = socket.close(None).await;
    latencies
}
