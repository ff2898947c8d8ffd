//! Realtime fan-out: `SUBSCRIBERS` WebSocket subscribers on one server, each on its own filter
//! over one collection, and publishers sending `realtime:publish` messages.
//!
//! The server is the release `palisade` binary, started as a child process on 127.0.0.1 so that
//! the server's and the clients' sockets count against two open-file limits instead of one.
//! Subscriber `i` subscribes to `to == "s<i>" or to == "all"`, so each filter is its own room.
//! Two phases are measured:
//!
//! - broadcast: `BROADCASTS` messages to `all`, sent one after the other by one publisher; each
//!   one matches every room.
//! - targeted: one message per subscriber, sent by `PUBLISHERS` publishers in parallel; each one
//!   matches one room.
//!
//! A message carries its send time. Latency runs from just before the publish request is sent
//! to the moment a subscriber task has parsed the notification. It therefore includes the
//! client's own scheduling delay on a machine shared with the server.
//!
//! Run: `bench/realtime-fanout.sh` (it checks the open-file limit, then builds and runs this).

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SUBSCRIBERS: usize = 10_000;
const BROADCASTS: usize = 20;
const PUBLISHERS: usize = 8;
/// Connections opened at the same time while subscribers connect.
const CONNECT_CONCURRENCY: usize = 200;
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

static EPOCH: OnceLock<Instant> = OnceLock::new();
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

fn now_us() -> u64 {
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

fn main() {
    EPOCH.get_or_init(Instant::now);
    let data_dir = std::env::temp_dir().join(format!("palisade-fanout-{}", std::process::id()));
    let (mut server, address) = start_server(&data_dir);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(address));

    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
}

async fn run(address: SocketAddr) {
    let url = format!("ws://{address}");
    let started = Instant::now();
    let (subscribers, latencies) = connect_subscribers(&url).await;
    println!(
        "{SUBSCRIBERS} subscribers connected and subscribed in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );
    println!(
        "| phase | messages | notifications | seconds | notifications/s | p50 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");

    let expected = BROADCASTS * SUBSCRIBERS;
    let elapsed = broadcast(&url, expected).await;
    report(
        "broadcast",
        BROADCASTS,
        expected,
        elapsed,
        &latencies.drain(),
    );

    let expected = expected + SUBSCRIBERS;
    let elapsed = targeted(&url, expected).await;
    report(
        "targeted",
        SUBSCRIBERS,
        SUBSCRIBERS,
        elapsed,
        &latencies.drain(),
    );

    for subscriber in subscribers {
        subscriber.abort();
    }
}

/// Latencies in microseconds, appended by every subscriber task.
#[derive(Debug, Clone, Default)]
struct Latencies(std::sync::Arc<std::sync::Mutex<Vec<u64>>>);

impl Latencies {
    fn record(&self, latency_us: u64) {
        self.0.lock().unwrap().push(latency_us);
    }

    fn drain(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn connect_subscribers(url: &str) -> (Vec<tokio::task::JoinHandle<()>>, Latencies) {
    let latencies = Latencies::default();
    let permits = std::sync::Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut ready = Vec::with_capacity(SUBSCRIBERS);
    let mut tasks = Vec::with_capacity(SUBSCRIBERS);
    for i in 0..SUBSCRIBERS {
        let (ready_sender, ready_receiver) = tokio::sync::oneshot::channel();
        let permit = permits.clone().acquire_owned().await.unwrap();
        let url = url.to_owned();
        let latencies = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let mut socket = connect_async(url).await.expect("subscriber connects").0;
            let filter =
                json!({"or": [{"equals": {"to": format!("s{i}")}}, {"equals": {"to": "all"}}]});
            let request = json!({
                "controller": "realtime", "action": "subscribe", "requestId": "subscribe",
                "index": "bench", "collection": "fanout", "body": filter,
            });
            let response = request_response(&mut socket, request).await;
            assert_eq!(response["status"], 200, "subscribe failed: {response}");
            drop(permit);
            let _ = ready_sender.send(());
            receive_notifications(socket, latencies).await;
        }));
        ready.push(ready_receiver);
    }
    for receiver in ready {
        receiver.await.expect("subscriber ready");
    }
    (tasks, latencies)
}

async fn receive_notifications(mut socket: Socket, latencies: Latencies) {
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let received_us = now_us();
        let notification: Value = serde_json::from_str(&text).unwrap();
        let Some(sent_us) = notification["result"]["_source"]["sentUs"].as_u64() else {
            continue;
        };
        latencies.record(received_us.saturating_sub(sent_us));
        RECEIVED.fetch_add(1, Ordering::Relaxed);
    }
}

async fn request_response(socket: &mut Socket, request: Value) -> Value {
    let request_id = request["requestId"].as_str().unwrap_or_default().to_owned();
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
    loop {
        let message = socket.next().await.expect("socket open").expect("frame");
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["room"] == request_id.as_str() {
                return frame;
            }
        }
    }
}

fn publish_request(sequence: usize, to: String) -> Value {
    json!({
        "controller": "realtime", "action": "publish", "requestId": format!("p{sequence}"),
        "index": "bench", "collection": "fanout",
        "body": {"to": to, "sentUs": now_us()},
    })
}

/// Sends the broadcasts one after the other and returns the time until every notification
/// arrived.
async fn broadcast(url: &str, expected_total: usize) -> Duration {
    let mut publisher = connect_async(url).await.expect("publisher connects").0;
    let started = Instant::now();
    for sequence in 0..BROADCASTS {
        let response =
            request_response(&mut publisher, publish_request(sequence, "all".into())).await;
        assert_eq!(response["status"], 200, "publish failed: {response}");
    }
    let published = started.elapsed();
    wait_for_received(expected_total).await;
    println!(
        "broadcast: the {BROADCASTS} publish responses took {:.2} s, delivery {:.2} s\n",
        published.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    started.elapsed()
}

/// Sends one message per subscriber from `PUBLISHERS` parallel publishers.
async fn targeted(url: &str, expected_total: usize) -> Duration {
    let started = Instant::now();
    let mut publishers = Vec::new();
    for publisher in 0..PUBLISHERS {
        let url = url.to_owned();
        publishers.push(tokio::spawn(async move {
            let mut socket = connect_async(url).await.expect("publisher connects").0;
            for i in (publisher..SUBSCRIBERS).step_by(PUBLISHERS) {
                let request = publish_request(i, format!("s{i}"));
                let response = request_response(&mut socket, request).await;
                assert_eq!(response["status"], 200, "publish failed: {response}");
            }
        }));
    }
    for publisher in publishers {
        publisher.await.unwrap();
    }
    wait_for_received(expected_total).await;
    started.elapsed()
}

async fn wait_for_received(expected_total: usize) {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while RECEIVED.load(Ordering::Relaxed) < expected_total {
        assert!(
            Instant::now() < deadline,
            "only {} of {expected_total} notifications arrived within {} s",
            RECEIVED.load(Ordering::Relaxed),
            PHASE_TIMEOUT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn report(
    phase: &str,
    messages: usize,
    notifications: usize,
    elapsed: Duration,
    latencies: &[u64],
) {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let percentile = |p: f64| {
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or(0) as f64 / 1000.0
    };
    let seconds = elapsed.as_secs_f64();
    println!(
        "| {phase} | {messages} | {notifications} | {seconds:.2} | {:.0} | {:.1} | {:.1} | {:.1} |",
        notifications as f64 / seconds,
        percentile(0.5),
        percentile(0.99),
        percentile(1.0),
    );
}

/// Starts the release `palisade` binary (or `PALISADE_BIN`) on a free port and returns its
/// address, read from the start-up log line.
fn start_server(data_dir: &std::path::Path) -> (Child, SocketAddr) {
    let binary = std::env::var_os("PALISADE_BIN").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/palisade"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(data_dir.join("plugins")).expect("plugins folder");
    let mut child = Command::new(&binary)
        .args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--plugins-dir")
        .arg(data_dir.join("plugins"))
        .env("PALISADE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));

    let stdout = child.stdout.take().expect("stdout piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        const MARKER: &str = "palisade listening on http://";
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(start) = line.find(MARKER) {
                let rest = &line[start + MARKER.len()..];
                let address = rest.split_whitespace().next().unwrap_or_default();
                let _ = sender.send(address.parse::<SocketAddr>());
            }
        }
    });
    let address = receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("server listens within 30 s")
        .expect("address in the start-up line");
    (child, address)
}
