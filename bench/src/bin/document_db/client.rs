//! A minimal Kuzzle WebSocket client: one request in flight per connection.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
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
    pub async fn call(&mut self, mut request: Value) -> Value {
        self.next_id += 1;
        let request_id = format!("r{}", self.next_id);
        request["requestId"] = json!(request_id);
        self.socket
            .send(Message::Text(request.to_string().into()))
            .await
            .expect("request sent");
        loop {
            let message = self
                .socket
                .next()
                .await
                .expect("socket open")
                .expect("frame");
            if let Message::Text(text) = message {
                let frame: Value = serde_json::from_str(&text).expect("JSON frame");
                if frame["requestId"] == request_id.as_str() {
                    return frame;
                }
            }
        }
    }

    /// Sends one request and panics unless it succeeds.
    pub async fn call_ok(&mut self, request: Value) -> Value {
        let response = self.call(request.clone()).await;
        assert_eq!(
            response["status"], 200,
            "request failed: {request:.200}\nresponse: {response}"
        );
        response
    }
}
