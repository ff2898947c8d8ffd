//! `index`, `collection` and `bulk` controller tests against a real server, over HTTP and
//! WebSocket.

mod common;

use common::{Client, PROTOCOLS, Protocol};
use palisade_test_harness::TestServer;
use serde_json::{Value, json};

fn server() -> TestServer {
    TestServer::start(env!("CARGO_BIN_EXE_palisade"))
}

fn index_request(action: &str, index: &str) -> Value {
    json!({"controller": "index", "action": action, "index": index})
}

fn collection_request(action: &str, index: &str, collection: &str, extra: Value) -> Value {
    let mut payload = json!({
        "controller": "collection", "action": action, "index": index, "collection": collection
    });
    for (key, value) in extra.as_object().expect("object") {
        payload[key] = value.clone();
    }
    payload
}

fn bulk_request(action: &str, index: &str, extra: Value) -> Value {
    let mut payload = json!({
        "controller": "bulk", "action": action, "index": index, "collection": "items"
    });
    for (key, value) in extra.as_object().expect("object") {
        payload[key] = value.clone();
    }
    payload
}

#[tokio::test]
async fn index_actions() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let mut api = Client::connect(&server, protocol).await;
        let first = format!("first{n}");
        let second = format!("second{n}");

        let body = api.send(index_request("create", &first)).await;
        assert_eq!(body["status"], 200);
        assert!(body.get("result").is_none(), "index:create has no result");
        api.ok(index_request("create", &second)).await;
        api.expect_error(
            index_request("create", &first),
            "services.storage.index_already_exists",
            412,
        )
        .await;
        let error = api
            .expect_error(
                index_request("create", "Bad.Name"),
                "services.storage.invalid_index_name",
                400,
            )
            .await;
        assert_eq!(error["props"][0], "Bad.Name");
        assert!(error["message"].as_str().unwrap().contains("Bad.Name"));

        assert_eq!(api.ok(index_request("exists", &first)).await, true);
        assert_eq!(api.ok(index_request("exists", "nothing")).await, false);

        api.ok(collection_request("create", &first, "c1", json!({})))
            .await;
        api.ok(collection_request("create", &first, "c2", json!({})))
            .await;
        let list = api
            .ok(json!({"controller": "index", "action": "list", "countCollection": true}))
            .await;
        let indexes = list["indexes"].as_array().unwrap();
        assert!(indexes.contains(&json!(first)));
        assert_eq!(list["collections"][&first], 2);
        assert_eq!(list["collections"][&second], 0);
        let list = api
            .ok(json!({"controller": "index", "action": "list"}))
            .await;
        assert!(list.get("collections").is_none());

        let stats = api
            .ok(json!({"controller": "index", "action": "stats"}))
            .await;
        assert!(stats["size"].is_u64());
        let entry = stats["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == json!(first))
            .expect("index in stats")
            .clone();
        assert_eq!(entry["collections"].as_array().unwrap().len(), 2);

        let deleted = api
            .ok(json!({"controller": "index", "action": "mDelete",
                       "body": {"indexes": [second, "missing"]}}))
            .await;
        assert_eq!(deleted["deleted"], json!([second]));
        let deleted = api.ok(index_request("delete", &first)).await;
        assert_eq!(deleted, json!({"acknowledged": true}));
        api.expect_error(
            index_request("delete", &first),
            "services.storage.unknown_index",
            412,
        )
        .await;
        let nothing = api
            .ok(json!({"controller": "index", "action": "mDelete", "body": {}}))
            .await;
        assert_eq!(nothing, json!({"deleted": []}));
        api.expect_error(
            json!({"controller": "index", "action": "mDelete", "body": {"indexes": "x"}}),
            "api.assert.invalid_type",
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn collection_actions() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let mut api = Client::connect(&server, protocol).await;
        let index = format!("col{n}");
        let index = index.as_str();
        api.ok(index_request("create", index)).await;

        let mappings = json!({
            "dynamic": "strict",
            "_meta": {"owner": "iot"},
            "properties": {"name": {"type": "keyword"}}
        });
        let created = api
            .ok(collection_request(
                "create",
                index,
                "things",
                json!({"body": {"mappings": mappings, "settings": {"number_of_shards": 1}}}),
            ))
            .await;
        assert_eq!(created, json!({"acknowledged": true}));
        let error = api
            .expect_error(
                collection_request("create", index, "Bad*", json!({})),
                "services.storage.invalid_collection_name",
                400,
            )
            .await;
        assert_eq!(error["props"][0], "Bad*");
        // The legacy body is a bare mapping.
        let legacy = json!({"body": {"properties": {"n": {"type": "integer"}}}});
        api.ok(collection_request("create", index, "legacy", legacy))
            .await;

        let mapping = api
            .ok(collection_request("getMapping", index, "things", json!({})))
            .await;
        assert_eq!(mapping["dynamic"], "strict");
        assert_eq!(mapping["_meta"]["owner"], "iot");
        assert_eq!(mapping["properties"]["name"]["type"], "keyword");
        assert!(mapping["properties"].get("_kuzzle_info").is_none());
        let with_meta = api
            .ok(collection_request(
                "getMapping",
                index,
                "things",
                json!({"includeKuzzleMeta": true}),
            ))
            .await;
        let info = &with_meta["properties"]["_kuzzle_info"]["properties"];
        assert_eq!(info["author"]["type"], "keyword");
        assert_eq!(info["createdAt"]["type"], "date");

        let updated = api
            .ok(collection_request(
                "updateMapping",
                index,
                "things",
                json!({"body": {"properties": {"size": {"type": "integer"}}}}),
            ))
            .await;
        assert_eq!(updated["properties"]["size"]["type"], "integer");
        let result = api
            .ok(collection_request(
                "update",
                index,
                "things",
                json!({"body": {"mappings": {"properties": {"tag": {"type": "keyword"}}}}}),
            ))
            .await;
        assert_eq!(result, Value::Null);
        let mapping = api
            .ok(collection_request("getMapping", index, "things", json!({})))
            .await;
        assert_eq!(mapping["properties"]["tag"]["type"], "keyword");
        assert_eq!(mapping["properties"]["size"]["type"], "integer");
        api.expect_error(
            collection_request(
                "updateMapping",
                index,
                "things",
                json!({"body": {"properties": {"name": {"type": "integer"}}}}),
            ),
            "services.storage.cannot_change_mapping",
            400,
        )
        .await;

        let settings = api
            .ok(collection_request(
                "getSettings",
                index,
                "things",
                json!({}),
            ))
            .await;
        assert!(settings.is_object());

        assert_eq!(
            api.ok(collection_request("exists", index, "things", json!({})))
                .await,
            true
        );
        assert_eq!(
            api.ok(collection_request("exists", index, "none", json!({})))
                .await,
            false
        );

        api.ok(collection_request("create", index, "zeta", json!({})))
            .await;
        let list = api
            .ok(json!({"controller": "collection", "action": "list", "index": index}))
            .await;
        assert_eq!(list["type"], "all");
        assert_eq!(
            list["collections"],
            json!([
                {"name": "legacy", "type": "stored"},
                {"name": "things", "type": "stored"},
                {"name": "zeta", "type": "stored"}
            ])
        );
        let page = api
            .ok(
                json!({"controller": "collection", "action": "list", "index": index,
                       "from": 1, "size": 1, "type": "stored"}),
            )
            .await;
        assert_eq!(
            page["collections"],
            json!([{"name": "things", "type": "stored"}])
        );
        assert_eq!(page["from"], 1);
        assert_eq!(page["size"], 1);
        let realtime = api
            .ok(
                json!({"controller": "collection", "action": "list", "index": index,
                       "type": "realtime"}),
            )
            .await;
        assert_eq!(realtime["collections"], json!([]));

        // A subscription makes a realtime collection, listed beside the stored one of the same
        // name.
        let mut subscriber = Client::connect(&server, Protocol::WebSocket).await;
        for collection in ["things", "live"] {
            subscriber
                .ok(
                    json!({"controller": "realtime", "action": "subscribe", "index": index,
                           "collection": collection, "body": {}}),
                )
                .await;
        }
        let realtime = api
            .ok(
                json!({"controller": "collection", "action": "list", "index": index,
                       "type": "realtime"}),
            )
            .await;
        assert_eq!(
            realtime["collections"],
            json!([{"name": "live", "type": "realtime"}, {"name": "things", "type": "realtime"}])
        );
        let all = api
            .ok(json!({"controller": "collection", "action": "list", "index": index}))
            .await;
        assert_eq!(
            all["collections"],
            json!([
                {"name": "legacy", "type": "stored"},
                {"name": "live", "type": "realtime"},
                {"name": "things", "type": "realtime"},
                {"name": "things", "type": "stored"},
                {"name": "zeta", "type": "stored"}
            ])
        );
        drop(subscriber);
        api.expect_error(
            json!({"controller": "collection", "action": "list", "index": "none"}),
            "services.storage.unknown_index",
            412,
        )
        .await;

        // truncate keeps the mapping and removes the documents.
        api.ok(
            json!({"controller": "document", "action": "create", "index": index,
                      "collection": "things", "body": {"name": "x"}, "refresh": "wait_for"}),
        )
        .await;
        let truncated = api
            .ok(collection_request("truncate", index, "things", json!({})))
            .await;
        assert_eq!(truncated, json!({"acknowledged": true}));
        let refreshed = api
            .ok(collection_request("refresh", index, "things", json!({})))
            .await;
        assert_eq!(refreshed, Value::Null);
        let count = api
            .ok(
                json!({"controller": "document", "action": "count", "index": index,
                       "collection": "things"}),
            )
            .await;
        assert_eq!(count["count"], 0);
        let mapping = api
            .ok(collection_request("getMapping", index, "things", json!({})))
            .await;
        assert_eq!(mapping["properties"]["name"]["type"], "keyword");

        let deleted = api
            .ok(collection_request("delete", index, "zeta", json!({})))
            .await;
        assert_eq!(deleted, Value::Null);
        api.expect_error(
            collection_request("delete", index, "zeta", json!({})),
            "services.storage.unknown_collection",
            412,
        )
        .await;

        for action in [
            "getSpecifications",
            "updateSpecifications",
            "validateSpecifications",
        ] {
            let error = api
                .expect_error(
                    collection_request(action, index, "things", json!({"body": {}})),
                    "api.process.action_not_found",
                    404,
                )
                .await;
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .contains("not implemented yet"),
                "{error}"
            );
        }
    }
}

#[tokio::test]
async fn bulk_actions() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let mut api = Client::connect(&server, protocol).await;
        let index = format!("bulk{n}");
        let index = index.as_str();
        api.create_collection(
            index,
            "items",
            json!({"properties": {"k": {"type": "keyword"}}}),
        )
        .await;

        let bulk_data = json!([
            {"index": {"_id": "i1"}}, {"k": "a"},
            {"create": {"_id": "i2"}}, {"k": "a"},
            {"create": {}}, {"k": "b"},
            {"update": {"_id": "i1"}}, {"doc": {"n": 1}},
            {"create": {"_id": "i2"}}, {"k": "dup"},
            {"delete": {"_id": "missing"}}
        ]);
        let result = api
            .ok(bulk_request(
                "import",
                index,
                json!({"body": {"bulkData": bulk_data}, "refresh": "wait_for"}),
            ))
            .await;
        let successes = result["successes"].as_array().unwrap();
        let errors = result["errors"].as_array().unwrap();
        assert_eq!(successes.len(), 4, "{result}");
        assert_eq!(errors.len(), 2, "{result}");
        assert_eq!(successes[0]["index"]["_id"], "i1");
        assert_eq!(successes[0]["index"]["status"], 201);
        assert_eq!(successes[3]["update"]["status"], 200);
        assert_eq!(errors[0]["create"]["_id"], "i2");
        assert_eq!(errors[0]["create"]["status"], 400);
        assert_eq!(errors[1]["delete"]["status"], 404);

        let document = api
            .ok(
                json!({"controller": "document", "action": "get", "index": index,
                       "collection": "items", "_id": "i1"}),
            )
            .await;
        assert_eq!(
            document["_source"],
            json!({"k": "a", "n": 1}),
            "no metadata injected"
        );

        let written = api
            .ok(bulk_request(
                "write",
                index,
                json!({"_id": "w1", "body": {"k": "w", "_kuzzle_info": {"author": "importer"}}}),
            ))
            .await;
        assert_eq!(written["_id"], "w1");
        assert_eq!(written["_version"], 1);
        assert!(written.get("created").is_none());
        assert_eq!(written["_source"]["_kuzzle_info"]["author"], "importer");
        let written = api
            .ok(bulk_request("write", index, json!({"body": {"k": "w"}})))
            .await;
        assert!(written["_id"].as_str().is_some_and(|id| !id.is_empty()));

        let documents =
            json!([{"_id": "m1", "body": {"k": "m"}}, {"_id": "m2"}, {"body": {"k": "m"}}]);
        let result = api
            .ok(bulk_request(
                "mWrite",
                index,
                json!({"body": {"documents": documents}, "refresh": "wait_for"}),
            ))
            .await;
        assert_eq!(result["successes"].as_array().unwrap().len(), 2);
        assert_eq!(
            result["successes"][0],
            json!({"_id": "m1", "_source": {"k": "m"}, "_version": 1})
        );
        assert_eq!(result["errors"][0]["document"]["_id"], "m2");

        let strict =
            json!({"strict": true, "body": {"documents": [{"_id": "m3", "body": {}}, {}]}});
        let error = api
            .expect_error(
                bulk_request("mWrite", index, strict),
                "api.process.incomplete_multiple_request",
                400,
            )
            .await;
        assert_eq!(error["count"], 1);
        let strict = json!({"strict": true, "body": {"bulkData": [{"delete": {"_id": "none"}}]}});
        api.expect_error(
            bulk_request("import", index, strict),
            "api.process.incomplete_multiple_request",
            400,
        )
        .await;

        let body = json!({"query": {"term": {"k": "m"}}, "changes": {"n": 5}});
        let result = api
            .ok(bulk_request(
                "updateByQuery",
                index,
                json!({"body": body, "refresh": "wait_for"}),
            ))
            .await;
        assert_eq!(result, json!({"updated": 2}));
        let body = json!({"query": {"term": {"k": "m"}}});
        let result = api
            .ok(bulk_request(
                "deleteByQuery",
                index,
                json!({"body": body, "refresh": "wait_for"}),
            ))
            .await;
        assert_eq!(result, json!({"deleted": 2}));
        api.expect_error(
            bulk_request(
                "import",
                index,
                json!({"body": {"bulkData": [{"index": {}}]}}),
            ),
            "api.assert.invalid_argument",
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn bulk_write_limit() {
    let server = palisade_test_harness::ServerBuilder::new(env!("CARGO_BIN_EXE_palisade"))
        .env("PALISADE_LIMITS__DOCUMENTS_WRITE_COUNT", "2")
        .start();
    let mut api = Client::connect(&server, Protocol::Http).await;
    api.create_collection("limit", "items", json!({})).await;
    let bulk_data = json!([{"create": {}}, {}, {"create": {}}, {}, {"create": {}}, {}]);
    api.expect_error(
        bulk_request("import", "limit", json!({"body": {"bulkData": bulk_data}})),
        "services.storage.write_limit_exceeded",
        413,
    )
    .await;
    // mWrite is meant for imports, so the limit does not apply, as in Kuzzle.
    let documents = json!([{"body": {}}, {"body": {}}, {"body": {}}]);
    let result = api
        .ok(bulk_request(
            "mWrite",
            "limit",
            json!({"body": {"documents": documents}}),
        ))
        .await;
    assert_eq!(result["successes"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn index_mdelete_skips_forbidden_indexes() {
    let server = server();
    let mut admin = Client::connect(&server, Protocol::Http).await;
    for index in ["allowed", "kept"] {
        admin.ok(index_request("create", index)).await;
    }

    // A user who may delete only the index `allowed`.
    admin
        .ok(json!({"controller": "security", "action": "createRole", "_id": "deleter",
                   "body": {"controllers": {"index": {"actions": {"delete": true, "mDelete": true}}}}}))
        .await;
    admin
        .ok(json!({"controller": "security", "action": "createProfile", "_id": "deleter",
                   "body": {"policies": [{"roleId": "deleter", "restrictedTo": [{"index": "allowed"}]}]}}))
        .await;
    admin
        .ok(json!({"controller": "security", "action": "createUser", "_id": "dora",
                   "body": {"content": {"profileIds": ["deleter"]},
                            "credentials": {"local": {"username": "dora", "password": "s3cret-pass"}}}}))
        .await;
    let login = admin
        .ok(
            json!({"controller": "auth", "action": "login", "strategy": "local",
                   "body": {"username": "dora", "password": "s3cret-pass"}}),
        )
        .await;
    let jwt = login["jwt"].as_str().expect("a token").to_owned();

    let deleted = admin
        .ok(
            json!({"controller": "index", "action": "mDelete", "jwt": jwt,
                   "body": {"indexes": ["allowed", "kept"]}}),
        )
        .await;
    assert_eq!(deleted, json!({"deleted": ["allowed"]}));
    assert_eq!(admin.ok(index_request("exists", "kept")).await, true);
    assert_eq!(admin.ok(index_request("exists", "allowed")).await, false);
}
