//! A client that sends API requests to a test server over HTTP (`POST /_query`) or WebSocket,
//! so one scenario runs on both protocols.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use palisade_test_harness::TestServer;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The protocol a [`Client`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    WebSocket,
}

/// Both protocols, for scenarios that run on each.
pub const PROTOCOLS: [Protocol; 2] = [Protocol::Http, Protocol::WebSocket];

/// An API client bound to one server.
pub struct Client {
    http: reqwest::Client,
    base: String,
    socket: Option<Socket>,
    counter: u64,
}

impl Client {
    /// Connects to `server` with `protocol`.
    pub async fn connect(server: &TestServer, protocol: Protocol) -> Self {
        let socket = match protocol {
            Protocol::Http => None,
            Protocol::WebSocket => Some(
                connect_async(server.ws_url())
                    .await
                    .expect("websocket connects")
                    .0,
            ),
        };
        Self {
            http: reqwest::Client::new(),
            base: server.http_url(),
            socket,
            counter: 0,
        }
    }

    /// Sends a request payload and returns the whole response envelope.
    pub async fn send(&mut self, mut payload: Value) -> Value {
        self.counter += 1;
        let request_id = format!("test-{}", self.counter);
        payload["requestId"] = json!(request_id);
        match &mut self.socket {
            None => {
                let response = self
                    .http
                    .post(format!("{}/_query", self.base))
                    .json(&payload)
                    .send()
                    .await
                    .expect("HTTP request sent");
                let status = response.status().as_u16();
                let body: Value = response.json().await.expect("JSON response");
                assert_eq!(body["status"], status, "HTTP status and envelope status");
                body
            }
            Some(socket) => {
                socket
                    .send(Message::Text(payload.to_string().into()))
                    .await
                    .expect("frame sent");
                loop {
                    let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
                        .await
                        .expect("a response within 30 s")
                        .expect("socket open")
                        .expect("valid frame");
                    let Message::Text(text) = frame else {
                        continue;
                    };
                    let body: Value = serde_json::from_str(&text).expect("JSON frame");
                    if body["room"] == request_id {
                        return body;
                    }
                }
            }
        }
    }

    /// Sends a request that must succeed and returns its `result`.
    pub async fn ok(&mut self, payload: Value) -> Value {
        let description = payload.to_string();
        let body = self.send(payload).await;
        assert_eq!(body["status"], 200, "{description} failed: {body}");
        body["result"].clone()
    }

    /// Sends a request that must fail and returns its error object.
    pub async fn error(&mut self, payload: Value) -> Value {
        let description = payload.to_string();
        let body = self.send(payload).await;
        assert!(
            body["error"].is_object(),
            "{description} should fail, got {body}"
        );
        body["error"].clone()
    }

    /// Sends a request and asserts its error id and status.
    pub async fn expect_error(&mut self, payload: Value, id: &str, status: u16) -> Value {
        let description = payload.to_string();
        let error = self.error(payload).await;
        assert_eq!(error["id"], id, "{description}: {error}");
        assert_eq!(error["status"], status, "{description}: {error}");
        error
    }

    /// Creates an index and a collection with a mapping.
    pub async fn create_collection(&mut self, index: &str, collection: &str, mappings: Value) {
        self.ok(json!({"controller": "index", "action": "create", "index": index}))
            .await;
        self.ok(json!({
            "controller": "collection", "action": "create", "index": index,
            "collection": collection, "body": {"mappings": mappings}
        }))
        .await;
    }

    /// Makes every acknowledged write of a collection searchable.
    pub async fn refresh(&mut self, index: &str, collection: &str) {
        self.ok(json!({
            "controller": "collection", "action": "refresh", "index": index,
            "collection": collection
        }))
        .await;
    }
}
