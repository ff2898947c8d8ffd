//! A minimal Kuzzle WebSocket client: one request in flight per connection.

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// One WebSocket connection to the server.
pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Client {
    pub async fn connect(url: &str) -> Self {
        let socket = connect_async(url).await.expect("WebSocket connects").0;
        Self { socket, next_id: 0 }
    }

    /// Sends one request and returns its response, skipping notifications.
    pub async fn call(&mut self, request: Value) -> Value {
        let request_id = self.send(request).await;
        loop {
            let text = self.next_text().await;
            let frame: Value = serde_json::from_str(&text).expect("JSON frame");
            if frame["requestId"] == request_id.as_str() {
                return frame;
            }
        }
    }

    /// Sends one request and panics unless it succeeds.
    pub async fn call_ok(&mut self, request: Value) -> Value {
        let action = format!("{}:{}", request["controller"], request["action"]);
        let response = self.call(request).await;
        assert_eq!(
            response["status"], 200,
            "request {action} failed: {response}"
        );
        response
    }

    /// Sends a multi-document write and panics unless every document was written.
    ///
    /// It reads only the status and the errors of the response. The successes repeat every
    /// document, and building JSON trees of them would take CPU from the server under test,
    /// which runs on the same cores.
    pub async fn write_all_ok(&mut self, request: Value) {
        let request_id = self.send(request).await;
        loop {
            let text = self.next_text().await;
            let reply: WriteReply = serde_json::from_str(&text).expect("JSON frame");
            if reply.request_id.as_deref() != Some(request_id.as_str()) {
                continue;
            }
            let failed = reply.status != 200 || reply.result.is_none_or(|r| !r.errors.is_empty());
            assert!(!failed, "write failed: {:.600}", text.as_str());
            return;
        }
    }

    /// Adds a request id to `request`, sends it, and returns the id.
    async fn send(&mut self, mut request: Value) -> String {
        self.next_id += 1;
        let request_id = format!("r{}", self.next_id);
        request["requestId"] = json!(request_id);
        self.socket
            .send(Message::Text(request.to_string().into()))
            .await
            .expect("request sent");
        request_id
    }

    /// Returns the next text frame.
    async fn next_text(&mut self) -> Utf8Bytes {
        loop {
            let message = self
                .socket
                .next()
                .await
                .expect("socket open")
                .expect("frame");
            if let Message::Text(text) = message {
                return text;
            }
        }
    }
}

/// The parts of a write response that [`Client::write_all_ok`] checks.
#[derive(Deserialize)]
struct WriteReply {
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    status: u16,
    result: Option<WriteResult>,
}

#[derive(Deserialize)]
struct WriteResult {
    errors: Vec<IgnoredAny>,
}
