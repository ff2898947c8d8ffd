//! `document` controller tests against a real server, over HTTP and WebSocket.

mod common;

use common::{Client, PROTOCOLS, Protocol};
use palisade_test_harness::{ServerBuilder, TestServer};
use serde_json::{Value, json};

fn server() -> TestServer {
    TestServer::start(env!("CARGO_BIN_EXE_palisade"))
}

/// Builds a `document` request on `index`/`sensors`, with extra arguments.
fn on(index: &str, action: &str, extra: Value) -> Value {
    let mut payload = json!({
        "controller": "document", "action": action, "index": index, "collection": "sensors"
    });
    for (key, value) in extra.as_object().expect("object") {
        payload[key] = value.clone();
    }
    payload
}

fn sensor_mappings() -> Value {
    json!({"properties": {
        "kind": {"type": "keyword"},
        "temp": {"type": "float"},
        "room": {"properties": {"floor": {"type": "integer"}, "name": {"type": "keyword"}}}
    }})
}

async fn setup(server: &TestServer, protocol: Protocol, index: &str) -> Client {
    let mut client = Client::connect(server, protocol).await;
    client
        .create_collection(index, "sensors", sensor_mappings())
        .await;
    client
}

#[tokio::test]
async fn create_get_exists_delete() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let index = format!("crud{n}");
        let index = index.as_str();
        let mut api = setup(&server, protocol, index).await;

        let created = api
            .ok(on(
                index,
                "create",
                json!({"body": {"kind": "t", "temp": 20.5}}),
            ))
            .await;
        let generated = created["_id"].as_str().expect("generated id");
        assert!(!generated.is_empty());
        assert_eq!(created["_version"], 1);
        assert_eq!(created["_source"]["temp"], 20.5);
        let info = &created["_source"]["_kuzzle_info"];
        assert_eq!(info["author"], "-1");
        assert!(info["createdAt"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(info["updatedAt"], Value::Null);
        assert_eq!(info["updater"], Value::Null);

        // User-supplied metadata is replaced.
        let body = json!({"kind": "h", "_kuzzle_info": {"author": "mallory"}});
        let created = api
            .ok(on(index, "create", json!({"_id": "s1", "body": body})))
            .await;
        assert_eq!(created["_id"], "s1");
        assert_eq!(created["_source"]["_kuzzle_info"]["author"], "-1");

        let document = api.ok(on(index, "get", json!({"_id": "s1"}))).await;
        assert_eq!(document["_id"], "s1");
        assert_eq!(document["_source"]["kind"], "h");
        assert_eq!(document["_version"], 1);
        assert_eq!(
            api.ok(on(index, "exists", json!({"_id": "s1"}))).await,
            true
        );
        assert_eq!(
            api.ok(on(index, "exists", json!({"_id": "no"}))).await,
            false
        );

        let duplicate = on(index, "create", json!({"_id": "s1", "body": {}}));
        let error = api
            .expect_error(duplicate, "services.storage.document_already_exists", 400)
            .await;
        assert_eq!(error["code"], 16842769);
        api.expect_error(
            on(index, "get", json!({"_id": "nope"})),
            "services.storage.not_found",
            404,
        )
        .await;
        api.expect_error(
            on(index, "get", json!({"_id": "_search"})),
            "services.storage.search_as_an_id",
            400,
        )
        .await;
        api.expect_error(
            on(index, "get", json!({"_id": 12})),
            "api.assert.invalid_type",
            400,
        )
        .await;
        api.expect_error(
            on(index, "get", json!({})),
            "api.assert.missing_argument",
            400,
        )
        .await;
        api.expect_error(
            on(index, "create", json!({})),
            "api.assert.body_required",
            400,
        )
        .await;

        let deleted = api
            .ok(on(index, "delete", json!({"_id": "s1", "source": true})))
            .await;
        assert_eq!(deleted["_id"], "s1");
        assert_eq!(deleted["_source"]["kind"], "h");
        assert_eq!(deleted["_version"], 1);
        let deleted = api.ok(on(index, "delete", json!({"_id": generated}))).await;
        assert_eq!(deleted, json!({"_id": generated}));
        api.expect_error(
            on(index, "delete", json!({"_id": "s1"})),
            "services.storage.not_found",
            404,
        )
        .await;
    }
}

#[tokio::test]
async fn unknown_and_internal_targets_rejected() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let index = format!("targets{n}");
        let index = index.as_str();
        let mut api = setup(&server, protocol, index).await;

        let error = api
            .expect_error(
                on("missing", "get", json!({"_id": "a"})),
                "services.storage.unknown_index",
                412,
            )
            .await;
        assert!(error["message"].as_str().unwrap().contains("missing"));
        let mut request = on(index, "get", json!({"_id": "a"}));
        request["collection"] = json!("nothing");
        api.expect_error(request, "services.storage.unknown_collection", 412)
            .await;

        let error = api
            .expect_error(
                on("%internal", "get", json!({"_id": "a"})),
                "services.storage.index_protected",
                400,
            )
            .await;
        assert_eq!(error["props"][0], "%internal");
        let internal = json!({"controller": "index", "action": "create", "index": "%secret"});
        api.expect_error(internal, "services.storage.index_protected", 400)
            .await;
    }
}

#[tokio::test]
async fn replace_update_upsert_delete_fields() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let index = format!("writes{n}");
        let index = index.as_str();
        let mut api = setup(&server, protocol, index).await;

        let first = api
            .ok(on(
                index,
                "createOrReplace",
                json!({"_id": "a", "body": {"kind": "t"}}),
            ))
            .await;
        assert_eq!(first["created"], true);
        assert_eq!(first["_version"], 1);
        let info = &first["_source"]["_kuzzle_info"];
        assert_eq!(info["author"], "-1");
        assert_eq!(info["updater"], "-1");
        assert_eq!(info["createdAt"], info["updatedAt"]);
        let second = api
            .ok(on(
                index,
                "createOrReplace",
                json!({"_id": "a", "body": {"kind": "h"}}),
            ))
            .await;
        assert_eq!(second["created"], false);
        assert_eq!(second["_version"], 2);

        let replaced = api
            .ok(on(
                index,
                "replace",
                json!({"_id": "a", "body": {"temp": 3}}),
            ))
            .await;
        assert_eq!(replaced["_version"], 3);
        assert!(replaced.get("created").is_none());
        assert!(replaced["_source"].get("kind").is_none());
        api.expect_error(
            on(index, "replace", json!({"_id": "none", "body": {}})),
            "services.storage.not_found",
            404,
        )
        .await;

        // update returns the changes, or the whole document with `source`.
        let body = json!({"room": {"floor": 2}});
        let updated = api
            .ok(on(index, "update", json!({"_id": "a", "body": body})))
            .await;
        assert_eq!(updated["_version"], 4);
        assert_eq!(updated["_source"]["room"]["floor"], 2);
        assert!(updated["_source"].get("temp").is_none());
        let info = &updated["_source"]["_kuzzle_info"];
        assert_eq!(info["updater"], "-1");
        assert!(info["updatedAt"].is_u64());
        assert_eq!(info["author"], "-1", "the stored metadata is returned");
        assert!(info["createdAt"].is_u64());
        let body = json!({"room": {"name": "lab"}});
        let full = api
            .ok(on(
                index,
                "update",
                json!({"_id": "a", "body": body, "source": true, "retryOnConflict": 3}),
            ))
            .await;
        assert_eq!(full["_source"]["temp"], 3);
        assert_eq!(full["_source"]["room"], json!({"floor": 2, "name": "lab"}));
        assert_eq!(full["_source"]["_kuzzle_info"]["author"], "-1");
        api.expect_error(
            on(index, "update", json!({"_id": "none", "body": {}})),
            "services.storage.not_found",
            404,
        )
        .await;

        // upsert creates from default + changes, then updates.
        let body = json!({"changes": {"temp": 1}, "default": {"kind": "new"}});
        let created = api
            .ok(on(
                index,
                "upsert",
                json!({"_id": "u", "body": body.clone(), "source": true}),
            ))
            .await;
        assert_eq!(created["created"], true);
        assert_eq!(created["_source"]["kind"], "new");
        assert_eq!(created["_source"]["temp"], 1);
        assert_eq!(created["_source"]["_kuzzle_info"]["author"], "-1");
        let body = json!({"changes": {"temp": 2}, "default": {"kind": "ignored"}});
        let updated = api
            .ok(on(index, "upsert", json!({"_id": "u", "body": body})))
            .await;
        assert_eq!(updated["created"], false);
        assert_eq!(updated["_version"], 2);
        assert!(updated.get("_source").is_none());
        let document = api.ok(on(index, "get", json!({"_id": "u"}))).await;
        assert_eq!(document["_source"]["kind"], "new");
        assert_eq!(document["_source"]["temp"], 2);
        api.expect_error(
            on(index, "upsert", json!({"_id": "u", "body": {}})),
            "api.assert.missing_argument",
            400,
        )
        .await;

        let body = json!({"fields": ["room.floor", "temp"]});
        let result = api
            .ok(on(index, "deleteFields", json!({"_id": "a", "body": body})))
            .await;
        assert_eq!(result["_id"], "a");
        assert_eq!(result["_version"], 6);
        assert!(result.get("_source").is_none());
        let document = api.ok(on(index, "get", json!({"_id": "a"}))).await;
        assert_eq!(document["_source"]["room"], json!({"name": "lab"}));
        assert!(document["_source"].get("temp").is_none());
        assert_eq!(document["_source"]["_kuzzle_info"]["author"], "-1");
        assert!(document["_source"]["_kuzzle_info"]["updatedAt"].is_u64());

        let validated = api
            .ok(on(index, "validate", json!({"body": {"kind": "x"}})))
            .await;
        assert_eq!(validated["valid"], true);
    }
}

#[tokio::test]
async fn refresh_and_silent_arguments() {
    let server = server();
    let mut api = setup(&server, Protocol::WebSocket, "args").await;

    api.ok(on(
        "args",
        "create",
        json!({"_id": "w", "body": {"kind": "t"}, "refresh": "wait_for", "silent": true}),
    ))
    .await;
    let found = api
        .ok(on(
            "args",
            "search",
            json!({"body": {"query": {"term": {"kind": "t"}}}}),
        ))
        .await;
    assert_eq!(
        found["total"], 1,
        "refresh=wait_for makes the write searchable"
    );

    let error = api
        .expect_error(
            on("args", "create", json!({"body": {}, "refresh": "now"})),
            "services.storage.invalid_argument",
            400,
        )
        .await;
    assert_eq!(error["props"][0], "refresh");
    api.expect_error(
        on("args", "create", json!({"body": {}, "silent": "yes"})),
        "api.assert.invalid_type",
        400,
    )
    .await;
    api.expect_error(
        on(
            "args",
            "update",
            json!({"_id": "w", "body": {}, "retryOnConflict": -1}),
        ),
        "api.assert.invalid_argument",
        400,
    )
    .await;
}

#[tokio::test]
async fn multi_document_actions() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let index = format!("multi{n}");
        let index = index.as_str();
        let mut api = setup(&server, protocol, index).await;

        let documents = json!([
            {"_id": "a", "body": {"kind": "t"}},
            {"body": {"kind": "h"}},
            {"_id": "bad"},
            {"_id": "a", "body": {"kind": "again"}}
        ]);
        let result = api
            .ok(on(
                index,
                "mCreate",
                json!({"body": {"documents": documents}}),
            ))
            .await;
        let successes = result["successes"].as_array().unwrap();
        let errors = result["errors"].as_array().unwrap();
        assert_eq!(successes.len(), 2);
        assert_eq!(errors.len(), 2);
        assert_eq!(successes[0]["_id"], "a");
        assert_eq!(successes[0]["status"], 201);
        assert_eq!(successes[0]["result"], "created");
        assert_eq!(successes[0]["created"], true);
        assert_eq!(successes[0]["_source"]["_kuzzle_info"]["author"], "-1");
        assert_eq!(errors[0]["document"]["_id"], "bad");
        assert_eq!(errors[0]["status"], 400);
        assert!(errors[0]["reason"].is_string());
        assert_eq!(errors[1]["document"]["_id"], "a");
        assert_eq!(errors[1]["status"], 400);

        let strict = on(
            index,
            "mCreate",
            json!({"strict": true, "body": {"documents": [
                {"_id": "b", "body": {}}, {"_id": "a", "body": {}}
            ]}}),
        );
        let error = api
            .expect_error(strict, "api.process.incomplete_multiple_request", 400)
            .await;
        assert_eq!(error["count"], 1);
        assert_eq!(error["errors"][0]["document"]["_id"], "a");

        let misplaced = json!({"body": {"documents": [{"_id": "m", "_source": {"kind": "t"}}]}});
        let error = api
            .expect_error(
                on(index, "mCreate", misplaced),
                "api.assert.unexpected_argument",
                400,
            )
            .await;
        assert_eq!(error["props"][0], "documents[0]._source");

        let got = api
            .ok(on(
                index,
                "mGet",
                json!({"body": {"ids": ["a", "b", "zz"]}}),
            ))
            .await;
        assert_eq!(got["successes"].as_array().unwrap().len(), 2);
        assert_eq!(got["successes"][0]["_source"]["kind"], "t");
        assert_eq!(got["successes"][0]["_version"], 1);
        assert_eq!(got["errors"], json!(["zz"]));
        api.expect_error(
            on(
                index,
                "mGet",
                json!({"strict": true, "body": {"ids": ["zz"]}}),
            ),
            "api.process.incomplete_multiple_request",
            400,
        )
        .await;
        let exists = api
            .ok(on(index, "mExists", json!({"body": {"ids": ["a", "zz"]}})))
            .await;
        assert_eq!(exists, json!({"successes": ["a"], "errors": ["zz"]}));

        let result = api
            .ok(on(
                index,
                "mCreateOrReplace",
                json!({"body": {"documents": [
                    {"_id": "a", "body": {"kind": "r"}}, {"_id": "c", "body": {"kind": "r"}}
                ]}}),
            ))
            .await;
        assert_eq!(result["successes"][0]["created"], false);
        assert_eq!(result["successes"][0]["status"], 200);
        assert_eq!(result["successes"][1]["created"], true);

        let result = api
            .ok(on(
                index,
                "mReplace",
                json!({"body": {"documents": [
                    {"_id": "a", "body": {"kind": "x"}}, {"_id": "none", "body": {}}
                ]}}),
            ))
            .await;
        assert_eq!(result["successes"][0]["_source"]["kind"], "x");
        assert_eq!(result["errors"][0]["document"]["_id"], "none");
        assert_eq!(result["errors"][0]["status"], 404);

        let result = api
            .ok(on(
                index,
                "mUpdate",
                json!({"body": {"documents": [
                    {"_id": "a", "body": {"temp": 5}}, {"_id": "none", "body": {"temp": 1}}
                ]}}),
            ))
            .await;
        assert_eq!(result["successes"][0]["_source"]["temp"], 5);
        assert!(result["successes"][0]["_source"].get("kind").is_none());
        let info = &result["successes"][0]["_source"]["_kuzzle_info"];
        assert_eq!(info["updater"], "-1");
        assert_eq!(info["author"], "-1");
        assert_eq!(result["errors"][0]["status"], 404);

        let result = api
            .ok(on(
                index,
                "mUpsert",
                json!({"body": {"documents": [
                    {"_id": "a", "changes": {"temp": 6}},
                    {"_id": "d", "changes": {"temp": 7}, "default": {"kind": "d"}},
                    {"changes": {}}
                ]}}),
            ))
            .await;
        assert_eq!(result["successes"][0]["created"], false);
        assert_eq!(result["successes"][1]["created"], true);
        assert_eq!(result["errors"].as_array().unwrap().len(), 1);
        let d = api.ok(on(index, "get", json!({"_id": "d"}))).await;
        assert_eq!(d["_source"]["kind"], "d");

        let result = api
            .ok(on(
                index,
                "mDelete",
                json!({"body": {"ids": ["a", "none"]}}),
            ))
            .await;
        assert_eq!(result["successes"], json!(["a"]));
        assert_eq!(result["errors"][0]["_id"], "none");
        assert_eq!(result["errors"][0]["status"], 404);
    }
}

#[tokio::test]
async fn limits_enforced() {
    let server = ServerBuilder::new(env!("CARGO_BIN_EXE_palisade"))
        .env("PALISADE_LIMITS__DOCUMENTS_WRITE_COUNT", "3")
        .env("PALISADE_LIMITS__DOCUMENTS_FETCH_COUNT", "5")
        .start();
    let mut api = setup(&server, Protocol::Http, "limits").await;

    let four: Vec<Value> = (0..4)
        .map(|i| json!({"_id": format!("d{i}"), "body": {"kind": "k"}}))
        .collect();
    let error = api
        .expect_error(
            on("limits", "mCreate", json!({"body": {"documents": four}})),
            "services.storage.write_limit_exceeded",
            413,
        )
        .await;
    assert_eq!(error["code"], 16842756);
    let three = &four[..3];
    api.ok(on(
        "limits",
        "mCreate",
        json!({"body": {"documents": three}, "refresh": "wait_for"}),
    ))
    .await;
    api.ok(on(
        "limits",
        "create",
        json!({"_id": "d3", "body": {"kind": "k"}, "refresh": "wait_for"}),
    ))
    .await;

    let ids: Vec<String> = (0..6).map(|i| format!("d{i}")).collect();
    api.expect_error(
        on("limits", "mGet", json!({"body": {"ids": ids}})),
        "services.storage.get_limit_exceeded",
        413,
    )
    .await;
    api.expect_error(
        on("limits", "search", json!({"size": 6})),
        "services.storage.get_limit_exceeded",
        413,
    )
    .await;
    // Kuzzle compares `size - from` with the limit.
    let page = api
        .ok(on("limits", "search", json!({"from": 2, "size": 6})))
        .await;
    assert_eq!(page["total"], 4);

    let by_query = json!({"body": {"query": {"term": {"kind": "k"}}}});
    api.expect_error(
        on("limits", "deleteByQuery", by_query.clone()),
        "services.storage.write_limit_exceeded",
        413,
    )
    .await;
    let count = api.ok(on("limits", "count", json!({}))).await;
    assert_eq!(
        count["count"], 4,
        "a rejected deleteByQuery deletes nothing"
    );
}

#[tokio::test]
async fn search_count_and_pagination() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let index = format!("search{n}");
        let index = index.as_str();
        let mut api = setup(&server, protocol, index).await;
        let documents: Vec<Value> = (0..25)
            .map(|i| {
                let kind = if i % 2 == 0 { "t" } else { "h" };
                json!({"_id": format!("s{i:02}"), "body": {"kind": kind, "temp": i}})
            })
            .collect();
        api.ok(on(
            index,
            "mCreate",
            json!({"body": {"documents": documents}, "refresh": "wait_for"}),
        ))
        .await;

        let query = json!({"bool": {"filter": [
            {"term": {"kind": "t"}}, {"range": {"temp": {"gte": 10}}}
        ]}});
        let page = api
            .ok(on(
                index,
                "search",
                json!({"body": {"query": query, "sort": [{"temp": "asc"}]}}),
            ))
            .await;
        assert_eq!(page["total"], 8);
        let hit = &page["hits"][0];
        assert_eq!(hit["_id"], "s10");
        assert_eq!(hit["index"], index);
        assert_eq!(hit["collection"], "sensors");
        assert_eq!(hit["_source"]["temp"], 10);
        assert!(hit["_score"].is_number());
        assert!(page.get("scrollId").is_none());

        let count = api
            .ok(on(index, "count", json!({"body": {"query": query}})))
            .await;
        assert_eq!(count["count"], 8);
        let filter = json!({"and": [{"equals": {"kind": "t"}}, {"range": {"temp": {"gte": 10}}}]});
        let count = api
            .ok(on(
                index,
                "count",
                json!({"lang": "koncorde", "body": {"query": filter}}),
            ))
            .await;
        assert_eq!(count["count"], 8);
        api.expect_error(
            on(
                index,
                "count",
                json!({"lang": "koncorde", "body": {"query": {"bool": {}}}}),
            ),
            "api.assert.koncorde_restricted_keyword",
            400,
        )
        .await;
        api.expect_error(
            on(index, "count", json!({"lang": "sql", "body": {}})),
            "api.assert.invalid_argument",
            400,
        )
        .await;

        // from/size
        let sort = json!([{"temp": "asc"}]);
        let page = api
            .ok(on(
                index,
                "search",
                json!({"from": 20, "size": 10, "body": {"sort": sort}}),
            ))
            .await;
        assert_eq!(page["hits"].as_array().unwrap().len(), 5);
        assert_eq!(page["hits"][0]["_id"], "s20");

        // scroll
        let mut page = api
            .ok(on(
                index,
                "search",
                json!({"size": 10, "scroll": "10s", "body": {"sort": sort}}),
            ))
            .await;
        let mut seen = page["hits"].as_array().unwrap().len();
        assert_eq!(page["remaining"], 15);
        while seen < 25 {
            let scroll_id = page["scrollId"].as_str().expect("scroll id").to_owned();
            page = api
                .ok(json!({"controller": "document", "action": "scroll", "scrollId": scroll_id, "scroll": "10s"}))
                .await;
            let hits = page["hits"].as_array().unwrap().len();
            assert!(hits > 0, "scroll ended after {seen} documents");
            seen += hits;
        }
        assert_eq!(seen, 25);
        api.expect_error(
            json!({"controller": "document", "action": "scroll", "scrollId": "nope"}),
            "services.storage.unknown_scroll_id",
            404,
        )
        .await;
        api.expect_error(
            on(index, "search", json!({"scroll": "2h"})),
            "services.storage.scroll_duration_too_great",
            400,
        )
        .await;

        // sort + search_after
        let body = json!({"sort": [{"temp": "asc"}], "search_after": [22]});
        let page = api
            .ok(on(index, "search", json!({"size": 10, "body": body})))
            .await;
        let ids: Vec<&str> = page["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["s23", "s24"]);

        // targets: one collection works, several are rejected.
        let targets = json!([{"index": index, "collections": ["sensors"]}]);
        let page = api
            .ok(json!({"controller": "document", "action": "search", "targets": targets}))
            .await;
        assert_eq!(page["total"], 25);
        api.expect_error(
            json!({"controller": "document", "action": "search"}),
            "api.assert.missing_argument",
            400,
        )
        .await;
        api.expect_error(
            json!({"controller": "document", "action": "search", "index": index,
                   "collection": "sensors,other"}),
            "services.storage.invalid_multi_index_collection_usage",
            400,
        )
        .await;
        let targets = json!([{"index": index, "collections": ["sensors", "other"]}]);
        api.expect_error(
            json!({"controller": "document", "action": "search", "targets": targets}),
            "services.storage.no_multi_collections",
            400,
        )
        .await;
        let targets = json!([
            {"index": index, "collections": ["sensors"]}, {"index": "x", "collections": ["y"]}
        ]);
        api.expect_error(
            json!({"controller": "document", "action": "search", "targets": targets}),
            "services.storage.no_multi_indexes",
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn by_query_writes() {
    let server = server();
    for (n, protocol) in PROTOCOLS.into_iter().enumerate() {
        let index = format!("byquery{n}");
        let index = index.as_str();
        let mut api = setup(&server, protocol, index).await;
        let documents: Vec<Value> = (0..6)
            .map(|i| json!({"_id": format!("q{i}"), "body": {"kind": if i < 4 { "a" } else { "b" }}}))
            .collect();
        api.ok(on(
            index,
            "mCreate",
            json!({"body": {"documents": documents}, "refresh": "wait_for"}),
        ))
        .await;

        let body = json!({"query": {"term": {"kind": "a"}}, "changes": {"temp": 9}});
        let result = api
            .ok(on(
                index,
                "updateByQuery",
                json!({"body": body, "refresh": "wait_for", "source": true}),
            ))
            .await;
        let successes = result["successes"].as_array().unwrap();
        assert_eq!(successes.len(), 4);
        assert_eq!(successes[0]["_source"]["temp"], 9);
        assert_eq!(successes[0]["_source"]["_kuzzle_info"]["updater"], "-1");
        assert_eq!(result["errors"], json!([]));

        let filter = json!({"equals": {"temp": 9}});
        let count = api
            .ok(on(
                index,
                "count",
                json!({"lang": "koncorde", "body": {"query": filter}}),
            ))
            .await;
        assert_eq!(count["count"], 4);

        let body = json!({"query": {"equals": {"kind": "b"}}});
        let result = api
            .ok(on(
                index,
                "deleteByQuery",
                json!({"lang": "koncorde", "body": body, "refresh": "wait_for"}),
            ))
            .await;
        let mut ids: Vec<&str> = result["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, ["q4", "q5"]);
        assert_eq!(result["documents"].as_array().unwrap().len(), 2);
        let count = api.ok(on(index, "count", json!({}))).await;
        assert_eq!(count["count"], 4);
        api.expect_error(
            on(index, "deleteByQuery", json!({"body": {}})),
            "api.assert.missing_argument",
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn rest_routes_and_export() {
    let server = server();
    let base = server.http_url();
    let http = reqwest::Client::new();
    let mut api = setup(&server, Protocol::Http, "rest").await;

    let created: Value = http
        .post(format!("{base}/rest/sensors/r1/_create?refresh=wait_for"))
        .json(&json!({"kind": "t", "temp": 1.5, "room": {"name": "a,b"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["result"]["_id"], "r1");
    api.ok(on(
        "rest",
        "create",
        json!({"_id": "r2", "body": {"kind": "h"}, "refresh": "wait_for"}),
    ))
    .await;

    let got: Value = http
        .get(format!("{base}/rest/sensors/_mGet?ids=r1%2Cr2%2Cr3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["result"]["successes"].as_array().unwrap().len(), 2);
    assert_eq!(got["result"]["errors"], json!(["r3"]));

    let search_body: String = json!({"query": {"term": {"kind": "t"}}})
        .to_string()
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    let found: Value = http
        .get(format!(
            "{base}/rest/sensors/_search?searchBody={search_body}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["result"]["total"], 1);
    assert_eq!(found["result"]["hits"][0]["_id"], "r1");

    let jsonl = http
        .get(format!("{base}/rest/sensors/_export"))
        .send()
        .await
        .unwrap();
    assert_eq!(jsonl.status(), 200);
    assert_eq!(
        jsonl.headers()["content-disposition"],
        "attachment; filename=\"rest-sensors.jsonl\""
    );
    let text = jsonl.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        json!({"collection": "sensors", "index": "rest", "type": "collection"})
    );
    assert!(
        lines
            .iter()
            .any(|l| l["_id"] == "r1" && l["body"]["temp"] == 1.5)
    );

    let csv = http
        .post(format!("{base}/rest/sensors/_export?format=csv"))
        .json(&json!({
            "query": {"term": {"kind": "t"}},
            "fields": ["temp", "room.name", "room"],
            "fieldsName": {"room.name": "Room"}
        }))
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    assert_eq!(csv, "_id,temp,Room,room\nr1,1.5,\"a,b\",[OBJECT]\n");

    // Without `fields`, the columns are the mapped fields.
    let csv = http
        .get(format!("{base}/rest/sensors/_export?format=csv&size=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "_id");
    for field in ["kind", "temp", "room.floor", "room.name"] {
        assert!(header.contains(&field), "{field} missing from {header:?}");
    }
    assert_eq!(
        lines.count(),
        2,
        "every document exported across pages of one"
    );

    let mut socket = Client::connect(&server, Protocol::WebSocket).await;
    socket
        .expect_error(
            on("rest", "export", json!({})),
            "api.assert.unsupported_protocol",
            500,
        )
        .await;
}

#[tokio::test]
async fn export_streams_every_page() {
    let server = server();
    let mut api = setup(&server, Protocol::Http, "bulkexport").await;
    let documents: Vec<Value> = (0..150)
        .map(|i| json!({"_id": format!("e{i:03}"), "body": {"kind": "k", "temp": i}}))
        .collect();
    api.ok(on(
        "bulkexport",
        "mCreate",
        json!({"body": {"documents": documents}, "refresh": "wait_for"}),
    ))
    .await;

    let response = reqwest::Client::new()
        .get(format!(
            "{}/bulkexport/sensors/_export?format=csv&fields=temp&size=7",
            server.http_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("content-length").is_none(),
        "a streamed export has no length known in advance"
    );
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("_id,temp"));
    let mut temperatures: Vec<u32> = lines
        .map(|line| line.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    temperatures.sort_unstable();
    assert_eq!(temperatures, (0..150).collect::<Vec<u32>>());

    // Errors found before the first page are API errors.
    let error: Value = reqwest::Client::new()
        .get(format!("{}/bulkexport/none/_export", server.http_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error["error"]["id"], "services.storage.unknown_collection");
}
