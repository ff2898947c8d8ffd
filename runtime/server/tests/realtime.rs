//! Realtime controller and notification tests against a real server on 127.0.0.1.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use palisade_test_harness::{ServerBuilder, TestServer};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_palisade")
}

/// A raw WebSocket client that sets aside the notifications arriving while it waits for a
/// response.
struct Client {
    socket: Socket,
    notifications: VecDeque<Value>,
    next_id: u64,
    name: &'static str,
}

impl Client {
    async fn connect(server: &TestServer, name: &'static str) -> Self {
        let socket = connect_async(server.ws_url())
            .await
            .expect("websocket connects")
            .0;
        Self {
            socket,
            notifications: VecDeque::new(),
            next_id: 0,
            name,
        }
    }

    /// Sends a request and returns its response envelope.
    async fn query(&mut self, mut payload: Value) -> Value {
        self.next_id += 1;
        let request_id = format!("{}-{}", self.name, self.next_id);
        payload["requestId"] = json!(request_id);
        self.socket
            .send(Message::Text(payload.to_string().into()))
            .await
            .unwrap();

        loop {
            let frame = self.read_frame().await;
            if frame["room"] == request_id.as_str() {
                return frame;
            }
            self.notifications.push_back(frame);
        }
    }

    /// Sends a request and returns its `result`, failing on an error response.
    async fn ok(&mut self, payload: Value) -> Value {
        let response = self.query(payload.clone()).await;
        assert_eq!(response["status"], 200, "{payload} failed: {response}");
        response["result"].clone()
    }

    async fn subscribe(&mut self, filter: Value, extra: Value) -> (String, String) {
        let mut payload = json!({
            "controller": "realtime", "action": "subscribe",
            "index": "i", "collection": "c", "body": filter,
        });
        if let Value::Object(extra) = extra {
            payload.as_object_mut().unwrap().extend(extra);
        }
        let result = self.ok(payload).await;
        let room_id = result["roomId"].as_str().unwrap().to_owned();
        let channel = result["channel"].as_str().unwrap().to_owned();
        (room_id, channel)
    }

    async fn publish(&mut self, body: Value) {
        let result = self
            .ok(json!({
                "controller": "realtime", "action": "publish",
                "index": "i", "collection": "c", "body": body,
                "volatile": {"sdkInstanceId": self.name},
            }))
            .await;
        assert_eq!(result, json!({"published": true}));
    }

    /// Returns the next notification, waiting for it if none is set aside.
    async fn notification(&mut self) -> Value {
        if let Some(notification) = self.notifications.pop_front() {
            return notification;
        }
        self.read_frame().await
    }

    /// Checks that no notification is queued for this client. The round trip of a request
    /// flushes whatever the server queued before it.
    async fn assert_no_notification(&mut self) {
        self.ok(json!({"controller": "server", "action": "now"}))
            .await;
        assert!(
            self.notifications.is_empty(),
            "{} received unexpected notifications: {:?}",
            self.name,
            self.notifications
        );
    }

    async fn read_frame(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(FRAME_TIMEOUT, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{}: no frame within 10 s", self.name))
                .expect("socket open")
                .expect("valid frame");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    async fn close(mut self) {
        self.socket.close(None).await.unwrap();
    }
}

/// Polls `realtime:count` until it returns `expected`, as closes are processed asynchronously.
async fn wait_for_count(client: &mut Client, room_id: &str, expected: u64) {
    wait_for_count_within(client, room_id, expected, FRAME_TIMEOUT).await;
}

async fn wait_for_count_within(
    client: &mut Client,
    room_id: &str,
    expected: u64,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let response = client
            .query(
                json!({"controller": "realtime", "action": "count", "body": {"roomId": room_id}}),
            )
            .await;
        if response["result"]["count"] == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "count of {room_id} never reached {expected}: {response}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_error(response: &Value, id: &str, status: u64) {
    assert_eq!(response["error"]["id"], id, "{response}");
    assert_eq!(response["status"], status, "{response}");
    assert_eq!(response["error"]["status"], status, "{response}");
}

#[tokio::test]
async fn subscribe_returns_room_and_channel() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    let mut bob = Client::connect(&server, "bob").await;

    let filter = json!({"equals": {"color": "red"}});
    let (room_id, channel) = alice.subscribe(filter.clone(), json!({})).await;
    assert_eq!(room_id.len(), 64, "room id is a hex HMAC-SHA256: {room_id}");
    assert_eq!(channel, format!("{room_id}-311"));

    let (same_room, in_channel) = bob.subscribe(filter, json!({"scope": "in"})).await;
    assert_eq!(same_room, room_id);
    assert_eq!(in_channel, format!("{room_id}-312"));

    let (other_room, _) = bob
        .subscribe(json!({"equals": {"color": "blue"}}), json!({}))
        .await;
    assert_ne!(other_room, room_id);
}

#[tokio::test]
async fn count_list_join_unsubscribe() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    let mut bob = Client::connect(&server, "bob").await;
    let (room_id, _) = alice.subscribe(json!({}), json!({})).await;

    let joined = bob
        .ok(json!({"controller": "realtime", "action": "join", "body": {"roomId": room_id}}))
        .await;
    assert_eq!(joined["roomId"], room_id.as_str());
    assert_eq!(joined["channel"], format!("{room_id}-311"));
    wait_for_count(&mut alice, &room_id, 2).await;

    let list = alice
        .ok(json!({"controller": "realtime", "action": "list"}))
        .await;
    assert_eq!(list, json!({"i": {"c": {room_id.clone(): 2}}}));

    let left = bob
        .ok(json!({"controller": "realtime", "action": "unsubscribe", "body": {"roomId": room_id}}))
        .await;
    assert_eq!(left, json!({"roomId": room_id}));
    wait_for_count(&mut alice, &room_id, 1).await;

    let again = bob
        .query(
            json!({"controller": "realtime", "action": "unsubscribe", "body": {"roomId": room_id}}),
        )
        .await;
    assert_error(&again, "core.realtime.not_subscribed", 412);
    assert_eq!(again["error"]["code"], 65544);

    alice
        .ok(json!({"controller": "realtime", "action": "unsubscribe", "body": {"roomId": room_id}}))
        .await;
    let gone = alice
        .query(json!({"controller": "realtime", "action": "count", "body": {"roomId": room_id}}))
        .await;
    assert_error(&gone, "core.realtime.room_not_found", 404);
    let list = alice
        .ok(json!({"controller": "realtime", "action": "list"}))
        .await;
    assert_eq!(list, json!({}));
}

#[tokio::test]
async fn publish_notifies_matching_filters() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    let mut publisher = Client::connect(&server, "publisher").await;
    let (room_id, channel) = alice
        .subscribe(json!({"range": {"size": {"gte": 10}}}), json!({}))
        .await;

    publisher.publish(json!({"size": 3, "name": "small"})).await;
    let published = publisher
        .query(json!({
            "controller": "realtime", "action": "publish", "index": "i", "collection": "c",
            "_id": "doc-1", "body": {"size": 12, "name": "big"},
            "volatile": {"sdkInstanceId": "publisher", "tag": [1, 2]},
        }))
        .await;
    assert_eq!(published["status"], 200, "{published}");

    let notification = alice.notification().await;
    assert_eq!(notification["type"], "document");
    assert_eq!(notification["status"], 200);
    assert_eq!(notification["action"], "publish");
    assert_eq!(notification["event"], "publish");
    assert_eq!(notification["scope"], "in");
    assert_eq!(notification["room"], channel.as_str());
    assert_eq!(notification["index"], "i");
    assert_eq!(notification["collection"], "c");
    assert_eq!(notification["controller"], "realtime");
    assert_eq!(notification["protocol"], "websocket");
    assert_eq!(notification["requestId"], published["requestId"]);
    assert_eq!(
        notification["volatile"],
        json!({"sdkInstanceId": "publisher", "tag": [1, 2]})
    );
    assert_eq!(notification["result"]["_id"], "doc-1");
    assert_eq!(notification["result"]["_source"]["name"], "big");
    let info = &notification["result"]["_source"]["_kuzzle_info"];
    assert_eq!(info["author"], "-1");
    assert!(info["createdAt"].is_u64(), "{info}");
    assert!(notification["node"].as_str().unwrap().starts_with("knode-"));
    assert!(!room_id.is_empty());

    alice.assert_no_notification().await;
}

#[tokio::test]
async fn scope_selects_publish_notifications() {
    let server = TestServer::start(binary());
    let mut publisher = Client::connect(&server, "publisher").await;
    let mut subscribers = Vec::new();
    for (name, scope) in [
        ("all", "all"),
        ("in", "in"),
        ("out", "out"),
        ("none", "none"),
    ] {
        let mut client = Client::connect(&server, name).await;
        client
            .subscribe(json!({"exists": "name"}), json!({"scope": scope}))
            .await;
        subscribers.push(client);
    }

    publisher.publish(json!({"name": "x"})).await;

    for client in &mut subscribers {
        if client.name == "all" || client.name == "in" {
            let notification = client.notification().await;
            assert_eq!(notification["scope"], "in", "{}", client.name);
        }
        client.assert_no_notification().await;
    }
}

#[tokio::test]
async fn publish_over_http_notifies_websocket() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    alice.subscribe(json!({}), json!({})).await;

    let response: Value = reqwest::Client::new()
        .post(format!("{}/i/c/_publish", server.http_url()))
        .json(&json!({"hello": "world"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["result"], json!({"published": true}), "{response}");

    let notification = alice.notification().await;
    assert_eq!(notification["protocol"], "http");
    assert_eq!(notification["result"]["_source"]["hello"], "world");
}

#[tokio::test]
async fn subscribe_over_http_rejected() {
    let server = TestServer::start(binary());
    let response: Value = reqwest::Client::new()
        .post(format!("{}/_query", server.http_url()))
        .json(&json!({
            "controller": "realtime", "action": "subscribe",
            "index": "i", "collection": "c", "body": {},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["error"]["id"], "api.assert.unsupported_protocol");
    assert_eq!(response["error"]["code"], 33619984);
    assert_eq!(
        response["error"]["props"],
        json!(["http", "realtime:subscribe"])
    );
}

#[tokio::test]
async fn user_notifications_on_join_and_leave() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    let mut bob = Client::connect(&server, "bob").await;
    let filter = json!({"equals": {"team": "blue"}});
    let (room_id, channel) = alice
        .subscribe(filter.clone(), json!({"users": "all"}))
        .await;
    let own = alice.notification().await;
    assert_eq!(
        own["user"], "in",
        "the subscriber sees its own arrival: {own}"
    );
    assert_eq!(own["result"]["count"], 1);

    bob.subscribe(filter, json!({"volatile": {"who": "bob"}}))
        .await;
    let joined = alice.notification().await;
    assert_eq!(joined["type"], "user");
    assert_eq!(joined["user"], "in");
    assert_eq!(joined["action"], "subscribe");
    assert_eq!(joined["result"]["count"], 2);
    assert_eq!(joined["volatile"], json!({"who": "bob"}));
    assert_eq!(joined["room"], channel.as_str());
    assert_eq!(joined["controller"], "realtime");
    assert_eq!(joined["index"], "i");

    bob.close().await;
    let left = alice.notification().await;
    assert_eq!(left["user"], "out");
    assert_eq!(left["action"], "unsubscribe");
    assert_eq!(left["result"]["count"], 1);
    assert_eq!(left["volatile"], json!({"who": "bob"}));
    wait_for_count(&mut alice, &room_id, 1).await;
    assert_default_users_get_none(&server, &room_id).await;
}

/// Checks that a subscriber with the default `users: none` receives no user notification.
async fn assert_default_users_get_none(server: &TestServer, room: &str) {
    let mut bob = Client::connect(server, "bob2").await;
    bob.ok(json!({"controller": "realtime", "action": "join", "body": {"roomId": room}}))
        .await;
    let mut carol = Client::connect(server, "carol").await;
    carol
        .ok(json!({"controller": "realtime", "action": "join", "body": {"roomId": room}}))
        .await;
    bob.assert_no_notification().await;
}

#[tokio::test]
async fn close_drops_subscriptions() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    let mut bob = Client::connect(&server, "bob").await;
    let (shared_room, _) = alice.subscribe(json!({}), json!({})).await;
    let (own_room, _) = bob
        .subscribe(json!({"equals": {"only": "bob"}}), json!({}))
        .await;
    bob.ok(json!({"controller": "realtime", "action": "join", "body": {"roomId": shared_room}}))
        .await;
    wait_for_count(&mut alice, &shared_room, 2).await;

    bob.close().await;
    wait_for_count(&mut alice, &shared_room, 1).await;
    let gone = alice
        .query(json!({"controller": "realtime", "action": "count", "body": {"roomId": own_room}}))
        .await;
    assert_error(&gone, "core.realtime.room_not_found", 404);
}

#[tokio::test]
async fn slow_subscriber_closed_alone() {
    let server = ServerBuilder::new(binary())
        .env("PALISADE_WEBSOCKET__MAX_BACKPRESSURE", "4")
        .start();
    let mut fast = Client::connect(&server, "fast").await;
    let mut slow = Client::connect(&server, "slow").await;
    let mut publisher = Client::connect(&server, "publisher").await;
    let (room_id, _) = fast.subscribe(json!({}), json!({})).await;
    slow.subscribe(json!({}), json!({})).await;

    // The slow client never reads, so once the kernel buffers are full (a few MB on loopback),
    // its queue overflows and the server closes it.
    const MESSAGES: usize = 100;
    let padding = "x".repeat(200_000);
    for sequence in 0..MESSAGES {
        publisher
            .publish(json!({"sequence": sequence, "padding": padding}))
            .await;
        let notification = fast.notification().await;
        assert_eq!(notification["result"]["_source"]["sequence"], sequence);
    }

    // The writer notices the overflow once its blocked write times out (10 s).
    wait_for_count_within(&mut fast, &room_id, 1, Duration::from_secs(30)).await;
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match slow.socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|frame| u16::from(frame.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the slow client's connection ends");
    assert!(
        closed.is_none() || closed == Some(1011),
        "closed with {closed:?}"
    );
}

#[tokio::test]
async fn token_expiry_drops_subscriptions() {
    let server = TestServer::start(binary());
    let mut admin = Client::connect(&server, "admin").await;
    let mut watcher = Client::connect(&server, "watcher").await;
    let credentials = json!({"username": "admin", "password": "a long enough password"});
    admin
        .ok(json!({
            "controller": "security", "action": "createFirstAdmin", "_id": "admin",
            "body": {"content": {}, "credentials": {"local": credentials}},
        }))
        .await;
    let login = admin
        .ok(json!({
            "controller": "auth", "action": "login", "strategy": "local", "expiresIn": "4s",
            "body": credentials,
        }))
        .await;
    let jwt = login["jwt"]
        .as_str()
        .expect("login returns a jwt")
        .to_owned();

    let subscribed = admin
        .ok(json!({
            "controller": "realtime", "action": "subscribe", "index": "i", "collection": "c",
            "body": {}, "jwt": jwt,
        }))
        .await;
    let room_id = subscribed["roomId"].as_str().unwrap().to_owned();
    admin
        .ok(json!({
            "controller": "realtime", "action": "publish", "index": "i", "collection": "c",
            "body": {"a": 1}, "jwt": jwt,
        }))
        .await;
    let published = admin.notification().await;
    assert_eq!(
        published["result"]["_source"]["_kuzzle_info"]["author"],
        "admin"
    );

    let expired = admin.notification().await;
    assert_eq!(expired["type"], "TokenExpired", "{expired}");
    assert_eq!(expired["room"], "kuzzle:notification:server");

    // The subscriptions are dropped right after the notification is queued.
    let deadline = Instant::now() + FRAME_TIMEOUT;
    loop {
        let count = watcher
            .query(
                json!({"controller": "realtime", "action": "count", "body": {"roomId": room_id}}),
            )
            .await;
        if count["error"]["id"] == "core.realtime.room_not_found" {
            break;
        }
        assert!(Instant::now() < deadline, "room still exists: {count}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn list_filtered_by_subscribe_rights() {
    let server = TestServer::start(binary());
    let mut anonymous = Client::connect(&server, "anonymous").await;
    let mut restricted = Client::connect(&server, "restricted").await;
    let admin_credentials = json!({"username": "admin", "password": "a long enough password"});
    anonymous
        .ok(json!({
            "controller": "security", "action": "createFirstAdmin", "_id": "admin",
            "body": {"content": {}, "credentials": {"local": admin_credentials}},
        }))
        .await;
    let login = anonymous
        .ok(json!({
            "controller": "auth", "action": "login", "strategy": "local",
            "body": admin_credentials,
        }))
        .await;
    let admin_jwt = login["jwt"].as_str().unwrap().to_owned();
    let setup = [
        json!({
            "controller": "security", "action": "createRole", "_id": "listener",
            "body": {"controllers": {"realtime": {"actions": {"*": true}}}},
        }),
        json!({
            "controller": "security", "action": "createProfile", "_id": "listener",
            "body": {"policies": [{"roleId": "listener", "restrictedTo": [{"index": "open"}]}]},
        }),
        json!({
            "controller": "security", "action": "createUser", "_id": "listener",
            "body": {
                "content": {"profileIds": ["listener"]},
                "credentials": {"local": {"username": "listener", "password": "another long password"}},
            },
        }),
    ];
    for mut request in setup {
        request["jwt"] = json!(admin_jwt);
        restricted.ok(request).await;
    }

    for index in ["open", "closed"] {
        anonymous
            .ok(json!({
                "controller": "realtime", "action": "subscribe",
                "index": index, "collection": "c", "body": {},
            }))
            .await;
    }
    let login = restricted
        .ok(json!({
            "controller": "auth", "action": "login", "strategy": "local",
            "body": {"username": "listener", "password": "another long password"},
        }))
        .await;
    let jwt = login["jwt"].as_str().unwrap().to_owned();

    let everything = anonymous
        .ok(json!({"controller": "realtime", "action": "list"}))
        .await;
    assert!(everything.get("open").is_some(), "{everything}");
    assert!(everything.get("closed").is_some(), "{everything}");
    let visible = restricted
        .ok(json!({"controller": "realtime", "action": "list", "jwt": jwt}))
        .await;
    assert!(visible.get("open").is_some(), "{visible}");
    assert!(visible.get("closed").is_none(), "{visible}");
}

#[tokio::test]
async fn invalid_arguments_rejected() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    let subscribe = |body: Value, extra: Value| {
        let mut payload = json!({
            "controller": "realtime", "action": "subscribe",
            "index": "i", "collection": "c", "body": body,
        });
        payload
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        payload
    };

    let bad_filter = alice
        .query(subscribe(json!({"equals": {"a": 1, "b": 2}}), json!({})))
        .await;
    assert_error(&bad_filter, "api.assert.koncorde_dsl_error", 400);
    assert_eq!(bad_filter["error"]["code"], 33619982);

    let unknown_keyword = alice
        .query(subscribe(json!({"sideways": {"a": 1}}), json!({})))
        .await;
    assert_eq!(unknown_keyword["status"], 400, "{unknown_keyword}");

    let bad_scope = alice
        .query(subscribe(json!({}), json!({"scope": "sideways"})))
        .await;
    assert_error(&bad_scope, "core.realtime.invalid_scope", 400);
    assert_eq!(bad_scope["error"]["code"], 65540);

    let bad_users = alice
        .query(subscribe(json!({}), json!({"users": "some"})))
        .await;
    assert_error(&bad_users, "core.realtime.invalid_users", 400);
    assert_eq!(bad_users["error"]["code"], 65541);

    let no_index = alice
        .query(
            json!({"controller": "realtime", "action": "subscribe", "collection": "c", "body": {}}),
        )
        .await;
    assert_error(&no_index, "api.assert.missing_argument", 400);

    let no_room = alice
        .query(json!({"controller": "realtime", "action": "join", "body": {}}))
        .await;
    assert_error(&no_room, "api.assert.missing_argument", 400);

    let unknown_room = alice
        .query(json!({"controller": "realtime", "action": "join", "body": {"roomId": "nope"}}))
        .await;
    assert_error(&unknown_room, "core.realtime.room_not_found", 404);
    assert_eq!(unknown_room["error"]["code"], 65537);

    let no_body = alice
        .query(
            json!({"controller": "realtime", "action": "publish", "index": "i", "collection": "c"}),
        )
        .await;
    assert_error(&no_body, "api.assert.body_required", 400);
}

#[tokio::test]
async fn subscription_limits_enforced() {
    let server = ServerBuilder::new(binary())
        .env("PALISADE_LIMITS__SUBSCRIPTION_ROOMS", "2")
        .env("PALISADE_LIMITS__SUBSCRIPTION_CONDITIONS_COUNT", "2")
        .start();
    let mut alice = Client::connect(&server, "alice").await;
    alice
        .subscribe(json!({"equals": {"n": 1}}), json!({}))
        .await;
    alice
        .subscribe(json!({"equals": {"n": 2}}), json!({}))
        .await;

    let third = alice
        .query(json!({
            "controller": "realtime", "action": "subscribe", "index": "i", "collection": "c",
            "body": {"equals": {"n": 3}},
        }))
        .await;
    assert_error(&third, "core.realtime.too_many_rooms", 413);
    assert_eq!(third["error"]["code"], 65543);

    let existing = alice
        .subscribe(json!({"equals": {"n": 1}}), json!({}))
        .await;
    assert_eq!(existing.1.len(), 68, "an existing room stays reachable");

    let complex = alice
        .query(json!({
            "controller": "realtime", "action": "subscribe", "index": "i", "collection": "c",
            "body": {"and": [{"equals": {"n": 1}}, {"equals": {"m": 1}}, {"exists": "o"}]},
        }))
        .await;
    assert_error(&complex, "api.assert.koncorde_dsl_error", 400);
}

#[tokio::test]
async fn room_ids_survive_restart() {
    let data = tempfile::tempdir().unwrap();
    let filter = json!({"equals": {"color": "red"}});

    let first = ServerBuilder::new(binary()).data_dir(data.path()).start();
    let mut alice = Client::connect(&first, "alice").await;
    let (before, _) = alice.subscribe(filter.clone(), json!({})).await;
    alice.close().await;
    drop(first);

    let second = ServerBuilder::new(binary()).data_dir(data.path()).start();
    let mut alice = Client::connect(&second, "alice").await;
    let (after, _) = alice.subscribe(filter.clone(), json!({})).await;
    assert_eq!(before, after);

    let other = TestServer::start(binary());
    let mut bob = Client::connect(&other, "bob").await;
    let (elsewhere, _) = bob.subscribe(filter, json!({})).await;
    assert_ne!(elsewhere, before, "each data folder has its own seed");
}

#[tokio::test]
async fn validate_accepts_message() {
    let server = TestServer::start(binary());
    let mut alice = Client::connect(&server, "alice").await;
    let result = alice
        .ok(json!({
            "controller": "realtime", "action": "validate",
            "index": "i", "collection": "c", "body": {"a": 1},
        }))
        .await;
    assert_eq!(result, json!({"valid": true, "errorMessages": {}}));
}

// Document notifications from writes.

async fn create_collection(client: &mut Client) {
    client
        .ok(json!({"controller": "index", "action": "create", "index": "i"}))
        .await;
    client
        .ok(json!({"controller": "collection", "action": "create", "index": "i", "collection": "c"}))
        .await;
}

#[tokio::test]
async fn document_writes_notify_in_and_out() {
    let server = TestServer::start(binary());
    let mut writer = Client::connect(&server, "writer").await;
    let mut all = Client::connect(&server, "all").await;
    let mut only_out = Client::connect(&server, "out").await;
    create_collection(&mut writer).await;
    let filter = json!({"equals": {"status": "open"}});
    all.subscribe(filter.clone(), json!({})).await;
    only_out.subscribe(filter, json!({"scope": "out"})).await;

    writer
        .ok(json!({
            "controller": "document", "action": "create", "index": "i", "collection": "c",
            "_id": "d1", "body": {"status": "open"},
        }))
        .await;
    let created = all.notification().await;
    assert_eq!(created["action"], "create");
    assert_eq!(created["event"], "write");
    assert_eq!(created["scope"], "in");
    assert_eq!(created["controller"], "document");
    assert_eq!(created["result"]["_id"], "d1");
    assert_eq!(created["result"]["_source"]["status"], "open");
    only_out.assert_no_notification().await;

    writer
        .ok(json!({
            "controller": "document", "action": "update", "index": "i", "collection": "c",
            "_id": "d1", "body": {"status": "closed"},
        }))
        .await;
    for client in [&mut all, &mut only_out] {
        let left = client.notification().await;
        assert_eq!(left["action"], "update", "{}", client.name);
        assert_eq!(left["scope"], "out", "{}", client.name);
        assert_eq!(left["result"]["_id"], "d1");
    }

    writer
        .ok(json!({
            "controller": "document", "action": "replace", "index": "i", "collection": "c",
            "_id": "d1", "body": {"status": "open"},
        }))
        .await;
    let back = all.notification().await;
    assert_eq!(back["action"], "replace");
    assert_eq!(back["scope"], "in");
    only_out.assert_no_notification().await;

    writer
        .ok(json!({
            "controller": "document", "action": "delete", "index": "i", "collection": "c",
            "_id": "d1",
        }))
        .await;
    for client in [&mut all, &mut only_out] {
        let deleted = client.notification().await;
        assert_eq!(deleted["action"], "delete", "{}", client.name);
        assert_eq!(deleted["event"], "delete");
        assert_eq!(deleted["scope"], "out");
    }
}

#[tokio::test]
async fn silent_writes_do_not_notify() {
    let server = TestServer::start(binary());
    let mut writer = Client::connect(&server, "writer").await;
    let mut alice = Client::connect(&server, "alice").await;
    create_collection(&mut writer).await;
    alice.subscribe(json!({}), json!({})).await;

    writer
        .ok(json!({
            "controller": "document", "action": "create", "index": "i", "collection": "c",
            "body": {"a": 1}, "silent": true,
        }))
        .await;
    alice.assert_no_notification().await;
}
