//! WebSocket protocol tests against a real server on 127.0.0.1.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use palisade_test_harness::{ServerBuilder, TestServer};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_palisade")
}

async fn connect(server: &TestServer) -> Socket {
    connect_async(server.ws_url())
        .await
        .expect("websocket connects")
        .0
}

async fn send(socket: &mut Socket, payload: Value) {
    socket
        .send(Message::Text(payload.to_string().into()))
        .await
        .unwrap();
}

/// Reads the next JSON text frame, skipping control frames.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn response_room_is_request_id() {
    let server = TestServer::start(binary());
    let mut socket = connect(&server).await;
    send(
        &mut socket,
        json!({"controller": "server", "action": "now", "requestId": "r-1"}),
    )
    .await;

    let response = next_json(&mut socket).await;
    assert_eq!(response["room"], "r-1");
    assert_eq!(response["requestId"], "r-1");
    assert_eq!(response["status"], 200);
    assert!(response["result"]["now"].is_u64());
}

#[tokio::test]
async fn concurrent_requests_all_answered() {
    let server = TestServer::start(binary());
    let mut socket = connect(&server).await;
    for i in 0..200 {
        send(
            &mut socket,
            json!({"controller": "server", "action": "now", "requestId": format!("q{i}")}),
        )
        .await;
    }

    let mut rooms = HashSet::new();
    for _ in 0..200 {
        let response = next_json(&mut socket).await;
        assert_eq!(response["status"], 200);
        assert_eq!(response["room"], response["requestId"]);
        rooms.insert(response["room"].as_str().unwrap().to_owned());
    }
    assert_eq!(rooms.len(), 200);
}

#[tokio::test]
async fn heartbeat_and_ping_answered() {
    let server = TestServer::start(binary());
    let mut socket = connect(&server).await;

    send(&mut socket, json!({"p": 1})).await;
    assert_eq!(next_json(&mut socket).await, json!({"p": 2}));

    socket
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
}

#[tokio::test]
async fn malformed_frames_keep_connection() {
    let server = ServerBuilder::new(binary())
        .env("PALISADE_SERVER__MAX_REQUEST_SIZE", "1KB")
        .start();
    let mut socket = connect(&server).await;

    socket
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    let error = next_json(&mut socket).await;
    assert_eq!(error["error"]["id"], "network.websocket.unexpected_error");
    assert!(error.get("room").is_none());

    let big = json!({"controller": "server", "action": "now", "requestId": "big", "pad": "x".repeat(2048)});
    send(&mut socket, big).await;
    let error = next_json(&mut socket).await;
    assert_eq!(error["room"], "big");
    assert_eq!(error["status"], 413);

    send(
        &mut socket,
        json!({"requestId": "no-controller", "action": "now"}),
    )
    .await;
    let error = next_json(&mut socket).await;
    assert_eq!(error["room"], "no-controller");
    assert_eq!(error["error"]["id"], "api.assert.missing_argument");

    socket
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut socket).await["error"]["id"],
        "network.websocket.unexpected_error"
    );

    send(
        &mut socket,
        json!({"controller": "server", "action": "now", "requestId": "after"}),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["room"], "after");
}

#[tokio::test]
async fn huge_frame_closes_with_1009() {
    let server = ServerBuilder::new(binary())
        .env("PALISADE_SERVER__MAX_REQUEST_SIZE", "1KB")
        .start();
    let mut socket = connect(&server).await;
    let huge = "x".repeat(64 * 1024);
    let _ = socket.send(Message::Text(huge.into())).await;

    let closed = wait_for_close(&mut socket).await;
    assert_eq!(closed, Some(CloseCode::Size));

    let mut other = connect(&server).await;
    send(
        &mut other,
        json!({"controller": "server", "action": "now", "requestId": "ok"}),
    )
    .await;
    assert_eq!(next_json(&mut other).await["status"], 200);
}

#[tokio::test]
async fn idle_socket_closed() {
    let server = ServerBuilder::new(binary())
        .env("PALISADE_WEBSOCKET__IDLE_TIMEOUT", "1000")
        .start();
    let mut socket = connect(&server).await;
    let closed = wait_for_close(&mut socket).await;
    assert_eq!(closed, Some(CloseCode::Normal));
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let server = ServerBuilder::new(binary())
        .env("PALISADE_WEBSOCKET__RATE_LIMIT", "5")
        .start();
    let mut socket = connect(&server).await;
    for i in 0..20 {
        send(
            &mut socket,
            json!({"controller": "server", "action": "now", "requestId": format!("r{i}")}),
        )
        .await;
    }
    let mut limited = 0;
    for _ in 0..20 {
        let response = next_json(&mut socket).await;
        if response["status"] == 429 {
            assert_eq!(
                response["error"]["id"],
                "network.websocket.ratelimit_exceeded"
            );
            assert!(response["room"].is_string());
            limited += 1;
        }
    }
    assert!(limited >= 14, "only {limited} of 20 messages were limited");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    send(
        &mut socket,
        json!({"controller": "server", "action": "now", "requestId": "later"}),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["status"], 200);
}

#[tokio::test]
async fn slow_reader_disconnected() {
    let server = ServerBuilder::new(binary())
        .env("PALISADE_WEBSOCKET__MAX_BACKPRESSURE", "4")
        .start();
    let mut socket = connect(&server).await;

    // Each publicApi answer is several kilobytes. Sending 3,000 requests without reading
    // fills the socket buffers, then the server's queue, which must close the connection.
    for i in 0..3000 {
        let request =
            json!({"controller": "server", "action": "publicApi", "requestId": format!("r{i}")});
        if socket
            .send(Message::Text(request.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }

    let mut closed = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("closed within 20 s")
        {
            Some(Ok(Message::Close(frame))) => {
                closed = frame.map(|f| f.code);
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
    if let Some(code) = closed {
        assert_eq!(code, CloseCode::Error);
    }

    let mut other = connect(&server).await;
    send(
        &mut other,
        json!({"controller": "server", "action": "now", "requestId": "ok"}),
    )
    .await;
    assert_eq!(next_json(&mut other).await["status"], 200);
    assert!(server.wait_for_line(
        |line| line.contains("too much backpressure"),
        std::time::Duration::from_secs(10)
    ));
}

#[test]
fn shutdown_closes_sockets_politely() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut server = TestServer::start(binary());
    let mut socket = runtime.block_on(connect(&server));

    let pid = server.pid();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let closed = runtime.block_on(wait_for_close(&mut socket));
    assert_eq!(closed, Some(CloseCode::Away));

    let status = server.stop();
    assert!(status.is_none() || status.unwrap().success());
}

async fn wait_for_close(socket: &mut Socket) -> Option<CloseCode> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("closed within 10 s");
        match next {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}
