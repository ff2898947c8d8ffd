//! The `admin` controller against a real server.

mod support;

use palisade_test_harness::TestServer;
use serde_json::json;
use support::{Api, error_id};

#[tokio::test]
async fn load_securities_then_reset() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let securities = json!({
        "roles": {"reader": {"controllers": {"server": {"actions": {"now": true}}}}},
        "profiles": {"reader": {"policies": [{"roleId": "reader"}]}},
        "users": {"bob": {
            "content": {"profileIds": ["reader"]},
            "credentials": {"local": {"username": "bob", "password": "bob-password"}}
        }}
    });
    let loaded = api
        .ok(
            json!({"controller": "admin", "action": "loadSecurities", "body": securities.clone()}),
            Some(&admin),
        )
        .await;
    assert_eq!(loaded["acknowledge"], true);
    let bob = api.login("bob", "bob-password").await;
    let now = json!({"controller": "server", "action": "now"});
    assert_eq!(api.query(now.clone(), Some(&bob)).await["status"], 200);

    let again = api
        .query(
            json!({"controller": "admin", "action": "loadSecurities", "body": securities.clone()}),
            Some(&admin),
        )
        .await;
    assert_eq!(error_id(&again), "security.user.already_exists");
    let skipped = json!({"controller": "admin", "action": "loadSecurities", "onExistingUsers": "skip", "body": securities});
    api.ok(skipped, Some(&admin)).await;

    api.ok(
        json!({"controller": "admin", "action": "resetSecurity"}),
        Some(&admin),
    )
    .await;
    let envelope = api.query(now.clone(), Some(&bob)).await;
    assert_eq!(
        error_id(&envelope),
        "security.token.invalid",
        "tokens revoked by the reset"
    );
    // The open default rights are back, so anonymous clients may run anything again.
    assert_eq!(api.query(now, None).await["status"], 200);
    let exists = api
        .ok(
            json!({"controller": "server", "action": "adminExists"}),
            None,
        )
        .await;
    assert_eq!(exists["exists"], false);
}

#[tokio::test]
async fn load_mappings_and_fixtures_then_reset_database() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let mappings = json!({"shop": {"items": {"properties": {"name": {"type": "keyword"}}}}});
    api.ok(
        json!({"controller": "admin", "action": "loadMappings", "body": mappings}),
        Some(&admin),
    )
    .await;
    let fixtures = json!({"shop": {"items": [
        {"create": {"_id": "a"}}, {"name": "apple"},
        {"index": {"_id": "b"}}, {"name": "banana"}
    ]}});
    let load = json!({"controller": "admin", "action": "loadFixtures", "refresh": "wait_for", "body": fixtures});
    api.ok(load, Some(&admin)).await;
    let listed = api
        .ok(
            json!({"controller": "server", "action": "info"}),
            Some(&admin),
        )
        .await;
    assert!(listed["serverInfo"].is_object());

    let bad = json!({"controller": "admin", "action": "loadFixtures", "body": {"shop": {"items": [{"create": {}}]}}});
    let envelope = api.query(bad, Some(&admin)).await;
    assert_eq!(error_id(&envelope), "api.assert.invalid_argument");

    api.ok(
        json!({"controller": "admin", "action": "resetDatabase"}),
        Some(&admin),
    )
    .await;
    let again = json!({"controller": "admin", "action": "loadFixtures", "body": {"shop": {"items": [{"create": {}}, {"name": "x"}]}}});
    let envelope = api.query(again, Some(&admin)).await;
    assert_eq!(
        error_id(&envelope),
        "services.storage.unknown_index",
        "index deleted by the reset"
    );
}

#[tokio::test]
async fn shutdown_stops_server() {
    let mut server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let stopped = api
        .ok(
            json!({"controller": "admin", "action": "shutdown"}),
            Some(&admin),
        )
        .await;
    assert_eq!(stopped["acknowledge"], true);

    let status = server
        .wait_for_exit(std::time::Duration::from_secs(20))
        .expect("server still runs 20 s after admin:shutdown");
    assert!(status.success(), "exit status {status}");
    let output = server.output().join("\n");
    assert!(output.contains("admin:shutdown requested"), "{output}");
}

#[tokio::test]
async fn dump_then_reset_all_data() {
    let server = TestServer::start(env!("CARGO_BIN_EXE_palisade"));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    api.ok(
        json!({"controller": "index", "action": "create", "index": "shop"}),
        Some(&admin),
    )
    .await;
    api.ok(
        json!({"controller": "collection", "action": "create", "index": "shop", "collection": "orders"}),
        Some(&admin),
    )
    .await;

    let dumped = api
        .ok(
            json!({"controller": "admin", "action": "dump", "suffix": "check"}),
            Some(&admin),
        )
        .await;
    assert_eq!(dumped["acknowledge"], true);
    let folder = std::path::PathBuf::from(dumped["path"].as_str().expect("the dump's path"));
    assert!(
        folder.starts_with(server.data_dir.join("dumps")),
        "{}",
        folder.display()
    );
    assert!(folder.to_string_lossy().ends_with("-check"));
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(folder.join(name)).unwrap()).unwrap()
    };
    assert_eq!(read("indexes.json")["shop"], json!(["orders"]));
    assert!(
        read("config.json")["security"]["authToken"]
            .get("secret")
            .is_none()
    );
    assert!(read("server-info.json")["serverInfo"]["kuzzle"]["nodeId"].is_string());
    assert!(
        std::fs::read_to_string(folder.join("metrics.txt"))
            .unwrap()
            .contains("palisade_")
    );

    let escaping = json!({"controller": "admin", "action": "dump", "suffix": "../outside"});
    let rejected = api.query(escaping, Some(&admin)).await;
    assert_eq!(error_id(&rejected), "api.assert.invalid_argument");

    api.ok(
        json!({"controller": "admin", "action": "resetKuzzleData"}),
        Some(&admin),
    )
    .await;
    let indexes = api
        .ok(json!({"controller": "index", "action": "list"}), None)
        .await;
    assert_eq!(indexes["indexes"], json!([]));
    let exists = api
        .ok(
            json!({"controller": "server", "action": "adminExists"}),
            None,
        )
        .await;
    assert_eq!(exists["exists"], false);
    let revoked = api
        .query(
            json!({"controller": "server", "action": "now"}),
            Some(&admin),
        )
        .await;
    assert_eq!(error_id(&revoked), "security.token.invalid");
}
