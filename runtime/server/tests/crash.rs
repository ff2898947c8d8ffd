//! Crash test: a server killed with SIGKILL during a write storm keeps every acknowledged write.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Client, Protocol};
use futures_util::{SinkExt, StreamExt};
use palisade_test_harness::ServerBuilder;
use serde_json::{Value, json};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const INDEX: &str = "storm";
const COLLECTION: &str = "writes";
/// Concurrent writers: half over HTTP, half over WebSocket.
const WRITERS: usize = 8;
/// How long the storm runs before the server is killed.
const STORM: Duration = Duration::from_secs(3);

fn create_payload(id: &str, writer: usize) -> Value {
    json!({
        "controller": "document", "action": "create", "index": INDEX,
        "collection": COLLECTION, "_id": id, "refresh": false, "requestId": id,
        "body": {"writer": writer, "id": id}
    })
}

/// Sends creates over HTTP until a request fails, and returns the acknowledged ids.
async fn http_writer(base: String, writer: usize, stop: Arc<AtomicBool>) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut acknowledged = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let id = format!("w{writer}-{n}");
        let sent = client
            .post(format!("{base}/_query"))
            .json(&create_payload(&id, writer))
            .send()
            .await;
        let Ok(response) = sent else { break };
        let Ok(body) = response.json::<Value>().await else {
            break;
        };
        if body["status"] == 200 && body["result"]["_id"] == json!(id) {
            acknowledged.push(id);
        }
    }
    acknowledged
}

/// Sends creates over one WebSocket, one at a time, until the socket fails.
async fn ws_writer(url: String, writer: usize, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut acknowledged = Vec::new();
    let Ok((mut socket, _)) = connect_async(url).await else {
        return acknowledged;
    };
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let id = format!("w{writer}-{n}");
        let frame = Message::Text(create_payload(&id, writer).to_string().into());
        if socket.send(frame).await.is_err() {
            break;
        }
        let reply = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = reply else {
            break;
        };
        let Ok(body) = serde_json::from_str::<Value>(&text) else {
            break;
        };
        if body["status"] == 200 && body["room"] == json!(id) {
            acknowledged.push(id);
        }
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_palisade");
    let mut server = ServerBuilder::new(binary).data_dir(data.path()).start();
    let mut api = Client::connect(&server, Protocol::Http).await;
    api.create_collection(
        INDEX,
        COLLECTION,
        json!({"properties": {"writer": {"type": "integer"}}}),
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let stop = stop.clone();
        let task = if writer % 2 == 0 {
            tokio::spawn(http_writer(server.http_url(), writer, stop))
        } else {
            tokio::spawn(ws_writer(server.ws_url(), writer, stop))
        };
        writers.push(task);
    }

    // Kill the server in the middle of the storm, with writes in flight.
    tokio::time::sleep(STORM).await;
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for task in writers {
        acknowledged.extend(task.await.unwrap());
    }
    assert!(
        acknowledged.len() > 50,
        "only {} writes acknowledged before the kill",
        acknowledged.len()
    );

    let restarted = ServerBuilder::new(binary).data_dir(data.path()).start();
    let mut api = Client::connect(&restarted, Protocol::WebSocket).await;

    // Every acknowledged write is readable in real time.
    for id in &acknowledged {
        let body = api
            .send(
                json!({"controller": "document", "action": "get", "index": INDEX,
                         "collection": COLLECTION, "_id": id}),
            )
            .await;
        assert_eq!(
            body["status"], 200,
            "acknowledged document {id} lost: {body}"
        );
        assert_eq!(body["result"]["_source"]["id"], json!(id));
    }

    // And searchable once the collection is refreshed.
    api.refresh(INDEX, COLLECTION).await;
    let count = api
        .ok(
            json!({"controller": "document", "action": "count", "index": INDEX,
                   "collection": COLLECTION}),
        )
        .await;
    let total = count["count"].as_u64().unwrap();
    assert!(
        total >= acknowledged.len() as u64,
        "count {total} below the {} acknowledged writes",
        acknowledged.len()
    );
    for chunk in acknowledged.chunks(500) {
        let page = api
            .ok(
                json!({"controller": "document", "action": "search", "index": INDEX,
                       "collection": COLLECTION, "size": chunk.len(),
                       "body": {"query": {"ids": {"values": chunk}}}}),
            )
            .await;
        assert_eq!(
            page["total"],
            chunk.len(),
            "search misses acknowledged documents"
        );
    }
}
