//! Change notifications of the `document` and `bulk` write actions, received by a realtime
//! subscriber on a real server.

mod common;

use std::time::Duration;

use common::{Client, PROTOCOLS, Protocol};
use futures_util::{SinkExt, StreamExt};
use palisade_test_harness::TestServer;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const INDEX: &str = "notify";
const COLLECTION: &str = "things";

/// A WebSocket client subscribed to every change of `notify:things`.
struct Subscriber {
    socket: Socket,
    requests: u64,
}

impl Subscriber {
    async fn subscribe(server: &TestServer) -> Self {
        let socket = connect_async(server.ws_url()).await.unwrap().0;
        let mut subscriber = Self {
            socket,
            requests: 0,
        };
        let (response, early) = subscriber
            .request(json!({
                "controller": "realtime", "action": "subscribe", "index": INDEX,
                "collection": COLLECTION, "body": {}, "scope": "all"
            }))
            .await;
        assert_eq!(response["status"], 200, "{response}");
        assert!(early.is_empty());
        subscriber
    }

    /// Sends a request and returns its response with the notifications received before it.
    async fn request(&mut self, mut payload: Value) -> (Value, Vec<Value>) {
        self.requests += 1;
        let request_id = format!("subscriber-{}", self.requests);
        payload["requestId"] = json!(request_id);
        let frame = Message::Text(payload.to_string().into());
        self.socket.send(frame).await.unwrap();

        let mut notifications = Vec::new();
        loop {
            let frame = self.next_frame().await;
            if frame["room"] == json!(request_id) {
                return (frame, notifications);
            }
            if frame["type"] == "document" {
                notifications.push(frame);
            }
        }
    }

    /// Returns every notification queued so far. Notifications are queued before the write's
    /// response is sent, so a round trip after the write returns all of them.
    async fn received(&mut self) -> Vec<Value> {
        let (_, notifications) = self
            .request(json!({"controller": "server", "action": "now"}))
            .await;
        notifications
    }

    async fn next_frame(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a frame within 10 s")
                .expect("socket open")
                .expect("valid frame");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }
}

fn write(controller: &str, action: &str, extra: Value) -> Value {
    let mut payload = json!({
        "controller": controller, "action": action, "index": INDEX, "collection": COLLECTION
    });
    for (key, value) in extra.as_object().expect("object") {
        payload[key] = value.clone();
    }
    payload
}

fn actions_and_ids(notifications: &[Value]) -> Vec<(String, String)> {
    notifications
        .iter()
        .map(|n| {
            let action = n["action"].as_str().unwrap().to_owned();
            let id = n["result"]["_id"].as_str().unwrap_or_default().to_owned();
            (action, id)
        })
        .collect()
}

async fn setup(server: &TestServer, protocol: Protocol) -> (Client, Subscriber) {
    let mut writer = Client::connect(server, protocol).await;
    writer
        .create_collection(
            INDEX,
            COLLECTION,
            json!({"properties": {"k": {"type": "keyword"}}}),
        )
        .await;
    let subscriber = Subscriber::subscribe(server).await;
    (writer, subscriber)
}

#[tokio::test]
async fn single_writes_notify() {
    for protocol in PROTOCOLS {
        let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
        let (mut writer, mut subscriber) = setup(&server, protocol).await;

        let mut create = write(
            "document",
            "create",
            json!({"_id": "a", "body": {"k": "x"}}),
        );
        create["volatile"] = json!({"origin": "test"});
        writer.ok(create).await;
        let notifications = subscriber.received().await;
        assert_eq!(notifications.len(), 1);
        let created = &notifications[0];
        assert_eq!(created["action"], "create");
        assert_eq!(created["event"], "write");
        assert_eq!(created["controller"], "document");
        assert_eq!(created["index"], INDEX);
        assert_eq!(created["collection"], COLLECTION);
        assert_eq!(created["volatile"]["origin"], "test");
        let expected_protocol = match protocol {
            Protocol::Http => "http",
            Protocol::WebSocket => "websocket",
        };
        assert_eq!(created["protocol"], expected_protocol);
        assert!(created["requestId"].as_str().unwrap().starts_with("test-"));
        assert!(created["timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(created["result"]["_source"]["k"], "x");
        assert_eq!(created["result"]["_source"]["_kuzzle_info"]["author"], "-1");

        writer
            .ok(write(
                "document",
                "update",
                json!({"_id": "a", "body": {"n": 1}}),
            ))
            .await;
        writer
            .ok(write(
                "document",
                "createOrReplace",
                json!({"_id": "a", "body": {"k": "y"}}),
            ))
            .await;
        writer
            .ok(write(
                "document",
                "createOrReplace",
                json!({"_id": "b", "body": {"k": "y"}}),
            ))
            .await;
        writer
            .ok(write(
                "document",
                "replace",
                json!({"_id": "b", "body": {"k": "z"}}),
            ))
            .await;
        writer
            .ok(write(
                "document",
                "deleteFields",
                json!({"_id": "b", "body": {"fields": ["k"]}}),
            ))
            .await;
        let body = json!({"changes": {"k": "u"}});
        writer
            .ok(write(
                "document",
                "upsert",
                json!({"_id": "c", "body": body.clone()}),
            ))
            .await;
        writer
            .ok(write(
                "document",
                "upsert",
                json!({"_id": "c", "body": body}),
            ))
            .await;
        writer
            .ok(write("document", "delete", json!({"_id": "a"})))
            .await;

        let notifications = subscriber.received().await;
        let expected = [
            ("update", "a"),
            ("replace", "a"),
            ("create", "b"),
            ("replace", "b"),
            ("update", "b"),
            ("create", "c"),
            ("update", "c"),
            ("delete", "a"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(action, id)| ((*action).to_owned(), (*id).to_owned()))
            .collect();
        assert_eq!(actions_and_ids(&notifications), expected);
        assert_eq!(notifications[0]["result"]["_updatedFields"], json!(["n"]));
        assert_eq!(notifications[7]["event"], "delete");
    }
}

#[tokio::test]
async fn silent_writes_stay_quiet() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let (mut writer, mut subscriber) = setup(&server, Protocol::Http).await;

    writer
        .ok(write(
            "document",
            "create",
            json!({"_id": "s", "body": {}, "silent": true}),
        ))
        .await;
    let documents = json!([{"_id": "t", "body": {}}, {"_id": "u", "body": {}}]);
    writer
        .ok(write(
            "document",
            "mCreate",
            json!({"body": {"documents": documents}, "silent": true}),
        ))
        .await;
    writer
        .ok(write(
            "document",
            "mDelete",
            json!({"body": {"ids": ["s", "t"]}, "silent": true}),
        ))
        .await;
    assert_eq!(subscriber.received().await, Vec::<Value>::new());
}

#[tokio::test]
async fn multi_writes_notify_each_document() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let (mut writer, mut subscriber) = setup(&server, Protocol::WebSocket).await;

    let documents = json!([{"_id": "a", "body": {"k": "x"}}, {"_id": "b", "body": {"k": "x"}}]);
    writer
        .ok(write(
            "document",
            "mCreate",
            json!({"body": {"documents": documents}, "refresh": "wait_for"}),
        ))
        .await;
    let documents = json!([{"_id": "a", "body": {"k": "y"}}, {"_id": "c", "body": {"k": "x"}}]);
    writer
        .ok(write(
            "document",
            "mCreateOrReplace",
            json!({"body": {"documents": documents}}),
        ))
        .await;
    let documents = json!([{"_id": "a", "body": {"n": 1}}, {"_id": "missing", "body": {}}]);
    writer
        .ok(write(
            "document",
            "mUpdate",
            json!({"body": {"documents": documents}}),
        ))
        .await;
    let documents = json!([{"_id": "b", "changes": {"n": 2}}, {"_id": "d", "changes": {"n": 3}}]);
    writer
        .ok(write(
            "document",
            "mUpsert",
            json!({"body": {"documents": documents}}),
        ))
        .await;
    writer
        .ok(write(
            "document",
            "mDelete",
            json!({"body": {"ids": ["c", "missing"]}}),
        ))
        .await;
    let expected = [
        ("create", "a"),
        ("create", "b"),
        ("replace", "a"),
        ("create", "c"),
        ("update", "a"),
        ("update", "b"),
        ("create", "d"),
        ("delete", "c"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(action, id)| ((*action).to_owned(), (*id).to_owned()))
        .collect();
    assert_eq!(actions_and_ids(&subscriber.received().await), expected);

    // By-query writes notify every matching document.
    writer.refresh(INDEX, COLLECTION).await;
    let body = json!({"query": {"ids": {"values": ["a", "b"]}}, "changes": {"k": "q"}});
    writer
        .ok(write(
            "document",
            "updateByQuery",
            json!({"body": body, "refresh": "wait_for"}),
        ))
        .await;
    let mut updated = actions_and_ids(&subscriber.received().await);
    updated.sort();
    assert_eq!(
        updated,
        [
            ("update".to_owned(), "a".to_owned()),
            ("update".to_owned(), "b".to_owned())
        ]
    );
    let body = json!({"query": {"term": {"k": "q"}}});
    writer
        .ok(write("document", "deleteByQuery", json!({"body": body})))
        .await;
    let mut deleted = actions_and_ids(&subscriber.received().await);
    deleted.sort();
    assert_eq!(
        deleted,
        [
            ("delete".to_owned(), "a".to_owned()),
            ("delete".to_owned(), "b".to_owned())
        ]
    );
}

#[tokio::test]
async fn bulk_writes_notify_only_on_request() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let (mut writer, mut subscriber) = setup(&server, Protocol::Http).await;

    let bulk_data =
        json!([{"index": {"_id": "a"}}, {"k": "x"}, {"create": {"_id": "b"}}, {"k": "x"}]);
    writer
        .ok(write(
            "bulk",
            "import",
            json!({"body": {"bulkData": bulk_data}}),
        ))
        .await;
    writer
        .ok(write(
            "bulk",
            "write",
            json!({"_id": "c", "body": {"k": "x"}}),
        ))
        .await;
    assert_eq!(subscriber.received().await, Vec::<Value>::new());

    let bulk_data = json!([{"index": {"_id": "d"}}, {"k": "x"}, {"delete": {"_id": "a"}}]);
    writer
        .ok(write(
            "bulk",
            "import",
            json!({"body": {"bulkData": bulk_data}, "notify": true}),
        ))
        .await;
    writer
        .ok(write(
            "bulk",
            "write",
            json!({"_id": "c", "body": {"k": "y"}, "notify": true}),
        ))
        .await;
    let documents = json!([{"_id": "e", "body": {"k": "x"}}]);
    writer
        .ok(write(
            "bulk",
            "mWrite",
            json!({"body": {"documents": documents}, "notify": true}),
        ))
        .await;
    let notifications = subscriber.received().await;
    let expected = [
        ("create", "d"),
        ("delete", "a"),
        ("replace", "c"),
        ("create", "e"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(action, id)| ((*action).to_owned(), (*id).to_owned()))
        .collect();
    assert_eq!(actions_and_ids(&notifications), expected);
    assert_eq!(notifications[0]["controller"], "bulk");
    assert!(
        notifications[0]["result"]["_source"]
            .get("_kuzzle_info")
            .is_none(),
        "bulk writes carry no metadata"
    );
}
