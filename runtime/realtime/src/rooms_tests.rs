//! Subscriptions, channels and notifications of [`Realtime`].

use serde_json::{Value, json};

use super::*;

fn origin() -> Origin {
    Origin {
        protocol: "websocket".into(),
        timestamp: 42,
    }
}

fn realtime() -> Realtime {
    Realtime::new(RealtimeConfig::default(), None)
}

fn options(scope: &str, users: &str) -> SubscriptionOptions {
    SubscriptionOptions::from_args(Some(scope), Some(users), json!({"who": "sub"})).unwrap()
}

fn change(
    id: &str,
    action: DocumentAction,
    new: Option<Value>,
    old: Option<Value>,
) -> DocumentChange {
    DocumentChange {
        index: "i".into(),
        collection: "c".into(),
        id: Some(id.into()),
        action,
        old_source: old,
        new_source: new,
        version: None,
        request: crate::RequestContext {
            request_id: "req".into(),
            timestamp: 7,
            volatile: json!({"sdkInstanceId": "x"}),
            protocol: "http".into(),
            controller: "document".into(),
        },
        from_cluster: false,
    }
}

fn channels(deliveries: &[Delivery]) -> Vec<&str> {
    deliveries.iter().map(|d| d.channel.as_str()).collect()
}

#[test]
fn same_filter_shares_a_room() {
    let mut rt = realtime();
    let filter = json!({"equals": {"a": 1}});
    let a = rt
        .subscribe("c1", "i", "c", &filter, options("all", "none"), &origin())
        .unwrap();
    let b = rt
        .subscribe("c2", "i", "c", &filter, options("in", "all"), &origin())
        .unwrap();
    assert_eq!(a.room_id, b.room_id);
    assert_eq!(a.channel, format!("{}-311", a.room_id));
    assert_eq!(b.channel, format!("{}-112", a.room_id));
    assert_eq!(rt.count(&a.room_id), Ok(2));
}

#[test]
fn user_notifications_on_subscribe_and_leave() {
    let mut rt = realtime();
    let filter = json!({});
    let watcher = rt
        .subscribe("c1", "i", "c", &filter, options("all", "all"), &origin())
        .unwrap();
    assert_eq!(
        watcher.notifications.len(),
        1,
        "the subscriber sees its own arrival"
    );

    let other = rt
        .subscribe("c2", "i", "c", &filter, options("all", "none"), &origin())
        .unwrap();
    let [delivery] = other.notifications.as_slice() else {
        panic!("one delivery expected, got {:?}", other.notifications);
    };
    assert_eq!(delivery.channel, watcher.channel);
    assert_eq!(delivery.connection_ids, vec!["c1".to_owned()]);
    let n = &delivery.notification;
    assert_eq!(n["type"], "user");
    assert_eq!(n["user"], "in");
    assert_eq!(n["result"]["count"], 2);
    assert_eq!(n["action"], "subscribe");
    assert_eq!(n["volatile"], json!({"who": "sub"}));
    assert_eq!(n["room"], json!(watcher.channel));

    let left = rt.unsubscribe("c2", &other.room_id, &origin()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].notification["user"], "out");
    assert_eq!(left[0].notification["result"]["count"], 1);
    assert_eq!(left[0].notification["action"], "unsubscribe");
}

#[test]
fn join_and_errors() {
    let mut rt = realtime();
    let missing = rt.join("c1", "nope", SubscriptionOptions::default(), &origin());
    assert_eq!(missing, Err(RealtimeError::RoomNotFound("nope".into())));

    let sub = rt
        .subscribe(
            "c1",
            "i",
            "c",
            &json!({}),
            SubscriptionOptions::default(),
            &origin(),
        )
        .unwrap();
    let joined = rt
        .join("c2", &sub.room_id, options("out", "none"), &origin())
        .unwrap();
    assert_eq!(joined.channel, format!("{}-313", sub.room_id));
    assert_eq!(
        rt.unsubscribe("c3", &sub.room_id, &origin()),
        Err(RealtimeError::NotSubscribed(sub.room_id.clone()))
    );
    assert_eq!(
        rt.unsubscribe("c1", "nope", &origin()),
        Err(RealtimeError::RoomNotFound("nope".into()))
    );
    assert!(SubscriptionOptions::from_args(Some("up"), None, Value::Null).is_err());
}

#[test]
fn room_limit() {
    let config = RealtimeConfig {
        max_rooms: 1,
        ..RealtimeConfig::default()
    };
    let mut rt = Realtime::new(config, None);
    let opts = SubscriptionOptions::default;
    rt.subscribe("c1", "i", "c", &json!({"exists": "a"}), opts(), &origin())
        .unwrap();
    rt.subscribe("c2", "i", "c", &json!({"exists": "a"}), opts(), &origin())
        .unwrap();
    let error = rt
        .subscribe("c1", "i", "c", &json!({"exists": "b"}), opts(), &origin())
        .unwrap_err();
    assert_eq!(error, RealtimeError::TooManyRooms(1));
    assert_eq!(error.kuzzle_id(), "core.realtime.too_many_rooms");
}

#[test]
fn list_and_disconnect() {
    let mut rt = realtime();
    let opts = SubscriptionOptions::default;
    let a = rt
        .subscribe("c1", "i", "c", &json!({"exists": "a"}), opts(), &origin())
        .unwrap();
    let b = rt
        .subscribe("c1", "j", "d", &json!({}), opts(), &origin())
        .unwrap();
    rt.subscribe("c2", "j", "d", &json!({}), opts(), &origin())
        .unwrap();
    let list = rt.list();
    assert_eq!(list["i"]["c"][&a.room_id], 1);
    assert_eq!(list["j"]["d"][&b.room_id], 2);
    assert_eq!(rt.rooms_of("c1").len(), 2);
    assert_eq!(rt.channels_of("c1").len(), 2);

    rt.disconnect("c1", &origin());
    assert!(rt.rooms_of("c1").is_empty());
    assert_eq!(rt.count(&b.room_id), Ok(1));
    assert_eq!(
        rt.count(&a.room_id),
        Err(RealtimeError::RoomNotFound(a.room_id.clone()))
    );
    assert!(
        !rt.filters().contains("i", "c", &a.room_id),
        "the room's filter is removed"
    );
}

#[test]
fn create_update_delete_scopes() {
    let mut rt = realtime();
    let filter = json!({"range": {"n": {"gte": 10}}});
    let all = rt
        .subscribe("c1", "i", "c", &filter, options("all", "none"), &origin())
        .unwrap();
    let only_in = rt
        .subscribe("c2", "i", "c", &filter, options("in", "none"), &origin())
        .unwrap();
    let only_out = rt
        .subscribe("c3", "i", "c", &filter, options("out", "none"), &origin())
        .unwrap();

    let created = rt.notify_document(&change(
        "d",
        DocumentAction::Create,
        Some(json!({"n": 12})),
        None,
    ));
    assert_eq!(
        channels(&created),
        vec![all.channel.as_str(), only_in.channel.as_str()]
    );
    let n = &created[0].notification;
    assert_eq!(n["type"], "document");
    assert_eq!(n["action"], "create");
    assert_eq!(n["event"], "write");
    assert_eq!(n["scope"], "in");
    assert_eq!(n["result"], json!({"_id": "d", "_source": {"n": 12}}));
    assert_eq!(n["requestId"], "req");
    assert_eq!(n["timestamp"], 7);
    assert_eq!(n["volatile"], json!({"sdkInstanceId": "x"}));
    assert_eq!(n["protocol"], "http");
    assert_eq!(n["controller"], "document");
    assert_eq!(n["room"], json!(all.channel));

    let update = DocumentAction::Update {
        updated_fields: vec!["n".into()],
    };
    let left = rt.notify_document(&change("d", update, Some(json!({"n": 1})), None));
    assert_eq!(
        channels(&left),
        vec![all.channel.as_str(), only_out.channel.as_str()]
    );
    assert_eq!(left[0].notification["scope"], "out");
    assert_eq!(left[0].notification["action"], "update");
    assert_eq!(left[0].notification["result"], json!({"_id": "d"}));

    let again = rt.notify_document(&change(
        "d",
        DocumentAction::Replace,
        Some(json!({"n": 2})),
        None,
    ));
    assert!(
        again.is_empty(),
        "a document outside the filter twice sends nothing"
    );

    let back = DocumentAction::Update {
        updated_fields: vec!["n".into()],
    };
    let entered = rt.notify_document(&change("d", back, Some(json!({"n": 50})), None));
    assert_eq!(
        entered[0].notification["result"]["_updatedFields"],
        json!(["n"])
    );

    let deleted = rt.notify_document(&change(
        "d",
        DocumentAction::Delete,
        None,
        Some(json!({"n": 50})),
    ));
    assert_eq!(
        channels(&deleted),
        vec![all.channel.as_str(), only_out.channel.as_str()]
    );
    assert_eq!(deleted[0].notification["action"], "delete");
    assert_eq!(deleted[0].notification["event"], "delete");
    assert_eq!(deleted[0].notification["scope"], "out");
}

#[test]
fn matching_sees_the_document_id() {
    let mut rt = realtime();
    let filter = json!({"ids": {"values": ["d"]}});
    let sub = rt
        .subscribe(
            "c1",
            "i",
            "c",
            &filter,
            SubscriptionOptions::default(),
            &origin(),
        )
        .unwrap();
    let hit = rt.notify_document(&change("d", DocumentAction::Create, Some(json!({})), None));
    assert_eq!(channels(&hit), vec![sub.channel.as_str()]);
    let miss = rt.notify_document(&change("e", DocumentAction::Create, Some(json!({})), None));
    assert!(miss.is_empty());
}

#[test]
fn publish_without_id() {
    let mut rt = realtime();
    let sub = rt
        .subscribe(
            "c1",
            "i",
            "c",
            &json!({"equals": {"m": "hi"}}),
            SubscriptionOptions::default(),
            &origin(),
        )
        .unwrap();
    let mut message = change("x", DocumentAction::Publish, Some(json!({"m": "hi"})), None);
    message.id = None;
    message.request.controller = "realtime".into();
    let sent = rt.notify_document(&message);
    assert_eq!(channels(&sent), vec![sub.channel.as_str()]);
    assert_eq!(
        sent[0].notification["result"],
        json!({"_source": {"m": "hi"}})
    );
    assert_eq!(sent[0].notification["event"], "publish");
}

#[test]
fn cluster_changes_skip_local_channels() {
    let mut rt = realtime();
    let local = SubscriptionOptions {
        propagate: false,
        ..SubscriptionOptions::default()
    };
    let local = rt
        .subscribe("c1", "i", "c", &json!({}), local, &origin())
        .unwrap();
    assert_eq!(local.channel, format!("{}-321", local.room_id));
    let shared = rt
        .subscribe(
            "c2",
            "i",
            "c",
            &json!({}),
            SubscriptionOptions::default(),
            &origin(),
        )
        .unwrap();

    let mut remote = change("d", DocumentAction::Create, Some(json!({})), None);
    remote.from_cluster = true;
    assert_eq!(
        channels(&rt.notify_document(&remote)),
        vec![shared.channel.as_str()]
    );
}

#[test]
fn scope_none_gets_no_documents() {
    let mut rt = realtime();
    let sub = rt
        .subscribe(
            "c1",
            "i",
            "c",
            &json!({}),
            options("none", "all"),
            &origin(),
        )
        .unwrap();
    assert_eq!(sub.channel, format!("{}-11", sub.room_id));
    let sent = rt.notify_document(&change("d", DocumentAction::Create, Some(json!({})), None));
    assert!(sent.is_empty());
}

#[test]
fn subscriber_user_is_kept() {
    let mut rt = realtime();
    let opts = SubscriptionOptions {
        user_id: Some("kuid".into()),
        ..SubscriptionOptions::default()
    };
    let sub = rt
        .subscribe("c1", "i", "c", &json!({}), opts, &origin())
        .unwrap();
    assert_eq!(rt.subscriber_user(&sub.room_id, "c1"), Some("kuid"));
}

#[test]
fn token_expiry_notifies_then_unsubscribes() {
    let mut rt = realtime();
    assert!(
        rt.token_expired("c1", &origin()).is_empty(),
        "no subscription, no notification"
    );

    let sub = rt
        .subscribe("c1", "i", "c", &json!({}), options("all", "all"), &origin())
        .unwrap();
    rt.subscribe("c2", "i", "c", &json!({}), options("all", "all"), &origin())
        .unwrap();
    let deliveries = rt.token_expired("c1", &origin());
    assert_eq!(deliveries[0].channel, "kuzzle:notification:server");
    assert_eq!(deliveries[0].connection_ids, vec!["c1".to_owned()]);
    assert_eq!(deliveries[0].notification["type"], "TokenExpired");
    assert_eq!(
        deliveries[0].notification["message"],
        "Authentication Token Expired"
    );
    assert_eq!(deliveries[1].notification["user"], "out");
    assert_eq!(deliveries[1].connection_ids, vec!["c2".to_owned()]);
    assert!(rt.rooms_of("c1").is_empty());
    assert_eq!(rt.count(&sub.room_id), Ok(1));
}

#[test]
fn registry_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Realtime>();
    assert_send_sync::<crate::FilterEngine>();
}

#[test]
fn watches_follows_filters_and_cache() {
    let mut rt = realtime();
    assert!(!rt.watches("i", "c"));

    let filter = json!({"range": {"n": {"gte": 10}}});
    let sub = rt
        .subscribe("c1", "i", "c", &filter, options("all", "none"), &origin())
        .unwrap();
    assert!(rt.watches("i", "c"));
    assert!(!rt.watches("i", "other"));

    // The document enters the room, so the cache remembers it for a later `out`.
    rt.notify_document(&change(
        "d",
        DocumentAction::Create,
        Some(json!({"n": 12})),
        None,
    ));
    rt.unsubscribe("c1", &sub.room_id, &origin()).unwrap();
    assert!(
        rt.watches("i", "c"),
        "the cache still holds the document's rooms"
    );

    rt.notify_document(&change(
        "d",
        DocumentAction::Delete,
        None,
        Some(json!({"n": 12})),
    ));
    assert!(!rt.watches("i", "c"));
}
