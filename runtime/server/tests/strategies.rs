//! Authentication strategies that plugins provide, in a real server: logins with provisioning,
//! redirect flows over HTTP, credentials actions, and strategies appearing and leaving with
//! their plugin file.
//!
//! The guest is `tests/plugins/static-strategy`, built by `scripts/build-plugins.sh` into
//! `PALISADE_PLUGINS_BUILD_DIR`. Without that variable each test prints that it is skipped and
//! passes, so `cargo test` works on a machine without the WebAssembly toolchain.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use palisade_test_harness::{ServerBuilder, TestServer};
use serde_json::{Value, json};
use support::{Api, error_id};

const BUILD_DIR_VARIABLE: &str = "PALISADE_PLUGINS_BUILD_DIR";

/// Settings of the test strategy: two accounts, one mapped to the `admin` profile.
const ACCOUNTS: &str = r#"
[settings.accounts.ada]
password = "ada-password"
email = "ada@example.org"
profiles = ["admin"]

[settings.accounts.bob]
password = "bob-password"
email = "bob@example.org"
"#;

/// Returns the built test strategy, or `None` (after saying so) without a build folder.
#[allow(
    clippy::print_stderr,
    reason = "a skipped test says so in the test output"
)]
fn built_strategy(test: &str) -> Option<PathBuf> {
    let Some(folder) = std::env::var_os(BUILD_DIR_VARIABLE) else {
        eprintln!("{test}: skipped, {BUILD_DIR_VARIABLE} is not set");
        return None;
    };
    let path = Path::new(&folder).join("static-strategy.wasm");
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-plugins.sh {} tests/plugins/static-strategy",
        path.display(),
        Path::new(&folder).display()
    );
    Some(path)
}

/// Starts a server whose plugins folder has the test strategy with `settings` as its TOML.
fn start(wasm: &Path, settings: &str) -> TestServer {
    let folder = tempfile::tempdir().expect("plugins folder").keep();
    std::fs::copy(wasm, folder.join("static-strategy.wasm")).expect("copy the plugin");
    std::fs::write(folder.join("static-strategy.toml"), settings).expect("write the settings");
    ServerBuilder::new(env!("CARGO_BIN_EXE_palisade"))
        .plugins_dir(folder)
        .start()
}

fn provisioning(enabled: bool) -> String {
    format!("[provisioning]\nenabled = {enabled}\nprofiles = [\"default\"]\n{ACCOUNTS}")
}

fn login(subject: &str, password: &str) -> Value {
    json!({"controller": "auth", "action": "login", "strategy": "static",
        "body": {"subject": subject, "password": password}})
}

async fn current_user(api: &Api, jwt: &str) -> Value {
    api.ok(
        json!({"controller": "auth", "action": "getCurrentUser"}),
        Some(jwt),
    )
    .await
}

async fn user_count(api: &Api, admin: &str) -> u64 {
    let found = api
        .ok(
            json!({"controller": "security", "action": "searchUsers", "body": {}}),
            Some(admin),
        )
        .await;
    found["total"].as_u64().expect("a total")
}

#[tokio::test]
async fn first_login_provisions_user() {
    let Some(wasm) = built_strategy("first_login_provisions_user") else {
        return;
    };
    let server = start(&wasm, &provisioning(true));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let strategies = api
        .ok(
            json!({"controller": "auth", "action": "getStrategies"}),
            Some(&admin),
        )
        .await;
    assert_eq!(strategies, json!(["local", "static"]));

    let first = api.ok(login("ada", "ada-password"), None).await;
    let jwt = first["jwt"].as_str().expect("a token");
    let user = current_user(&api, jwt).await;
    assert_eq!(user["_source"]["profileIds"], json!(["admin"]));
    assert_eq!(user["_source"]["email"], "ada@example.org");
    let kuid = user["_id"].as_str().expect("a kuid").to_owned();

    let second = api.ok(login("ada", "ada-password"), None).await;
    assert_eq!(second["_id"], kuid.as_str(), "the same user logs in again");

    let bob = api.ok(login("bob", "bob-password"), None).await;
    let bob_user = current_user(&api, bob["jwt"].as_str().expect("a token")).await;
    assert_eq!(bob_user["_source"]["profileIds"], json!(["default"]));

    let by_id = api
        .ok(
            json!({"controller": "security", "action": "getCredentialsById",
                "strategy": "static", "_id": "ada"}),
            Some(&admin),
        )
        .await;
    assert_eq!(by_id["kuid"], kuid.as_str());
    let strategies = api
        .ok(
            json!({"controller": "security", "action": "getUserStrategies", "_id": kuid}),
            Some(&admin),
        )
        .await;
    assert_eq!(strategies, json!(["static"]));

    let search = |query: Value| {
        json!({"controller": "security", "action": "searchUsersByCredentials",
            "strategy": "static", "body": {"query": query}})
    };
    let found = api
        .ok(search(json!({"term": {"subject": "ada"}})), Some(&admin))
        .await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["hits"][0], json!({"kuid": kuid, "subject": "ada"}));
    let everyone = api.ok(search(json!({"match_all": {}})), Some(&admin)).await;
    assert_eq!(
        everyone["total"], 2,
        "ada and bob, not the local admin: {everyone}"
    );
}

#[tokio::test]
async fn rejected_login_creates_nobody() {
    let Some(wasm) = built_strategy("rejected_login_creates_nobody") else {
        return;
    };
    let server = start(&wasm, &provisioning(true));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    let before = user_count(&api, &admin).await;

    for (subject, password) in [("ada", "wrong"), ("ada", ""), ("nobody", "ada-password")] {
        let envelope = api.query(login(subject, password), None).await;
        assert_eq!(envelope["status"], 401, "{subject}/{password}: {envelope}");
        assert_eq!(error_id(&envelope), "plugin.strategy.missing_user");
    }
    assert_eq!(user_count(&api, &admin).await, before);
}

#[tokio::test]
async fn unknown_subject_without_provisioning() {
    let Some(wasm) = built_strategy("unknown_subject_without_provisioning") else {
        return;
    };
    let server = start(&wasm, &provisioning(false));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    let before = user_count(&api, &admin).await;

    let envelope = api.query(login("ada", "ada-password"), None).await;
    assert_eq!(envelope["status"], 401);
    assert_eq!(error_id(&envelope), "plugin.strategy.missing_user");
    assert_eq!(user_count(&api, &admin).await, before);
}

#[tokio::test]
async fn credentials_actions_link_subject() {
    let Some(wasm) = built_strategy("credentials_actions_link_subject") else {
        return;
    };
    let server = start(&wasm, &provisioning(false));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    api.create_user(&admin, "robert", "default", "robert-password")
        .await;
    let credentials = |action: &str, body: Value| {
        json!({"controller": "security", "action": action, "strategy": "static",
            "_id": "robert", "body": body})
    };

    let invalid = api
        .query(
            credentials("createCredentials", json!({"subject": "nobody"})),
            Some(&admin),
        )
        .await;
    assert_eq!(invalid["status"], 400);
    assert_eq!(error_id(&invalid), "security.credentials.rejected");

    let created = api
        .ok(
            credentials("createCredentials", json!({"subject": "bob"})),
            Some(&admin),
        )
        .await;
    assert_eq!(created, json!({"kuid": "robert", "subject": "bob"}));
    let exists = api
        .ok(credentials("hasCredentials", json!({})), Some(&admin))
        .await;
    assert_eq!(exists, true);

    let logged_in = api.ok(login("bob", "bob-password"), None).await;
    assert_eq!(logged_in["_id"], "robert");

    let fields = api
        .ok(
            json!({"controller": "security", "action": "getAllCredentialFields"}),
            Some(&admin),
        )
        .await;
    assert_eq!(fields["static"], json!(["subject", "password"]));

    api.ok(credentials("deleteCredentials", json!({})), Some(&admin))
        .await;
    let exists = api
        .ok(credentials("hasCredentials", json!({})), Some(&admin))
        .await;
    assert_eq!(exists, false);
    let envelope = api.query(login("bob", "bob-password"), None).await;
    assert_eq!(envelope["status"], 401, "unlinked: {envelope}");
}

#[tokio::test]
async fn create_user_with_strategy_credentials() {
    let Some(wasm) = built_strategy("create_user_with_strategy_credentials") else {
        return;
    };
    let server = start(&wasm, &provisioning(false));
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    let create = |kuid: &str, subject: &str| {
        json!({"controller": "security", "action": "createUser", "_id": kuid,
            "body": {"content": {"profileIds": ["default"]},
                "credentials": {"static": {"subject": subject}}}})
    };

    let rejected = api.query(create("nina", "nobody"), Some(&admin)).await;
    assert_eq!(rejected["status"], 400, "{rejected}");
    let missing = api
        .query(
            json!({"controller": "security", "action": "getUser", "_id": "nina"}),
            Some(&admin),
        )
        .await;
    assert_eq!(missing["status"], 404, "no half-created user: {missing}");

    api.ok(create("carol", "bob"), Some(&admin)).await;
    let logged_in = api.ok(login("bob", "bob-password"), None).await;
    assert_eq!(logged_in["_id"], "carol");
}

#[tokio::test]
async fn redirect_flow_over_http() {
    let Some(wasm) = built_strategy("redirect_flow_over_http") else {
        return;
    };
    let server = start(&wasm, &provisioning(true));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let url = format!("{}/_login/static", server.http_url());

    let started = client
        .get(format!("{url}?start=1&subject=ada"))
        .send()
        .await
        .expect("login started");
    assert_eq!(started.status(), 302);
    assert_eq!(started.headers()["cache-control"], "no-store");
    let location = started.headers()["location"].to_str().expect("a location");
    let state = location
        .strip_prefix("/callback?state=")
        .expect("a redirect to the callback")
        .to_owned();

    let callback = format!("{url}?state={state}");
    let finished: Value = client
        .get(&callback)
        .send()
        .await
        .expect("callback sent")
        .json()
        .await
        .expect("a JSON envelope");
    assert_eq!(finished["status"], 200, "{finished}");
    assert!(finished["result"]["jwt"].is_string());

    let replayed = client.get(&callback).send().await.expect("replay sent");
    assert_eq!(replayed.status(), 401, "a state works once");
}

#[tokio::test]
async fn next_step_over_websocket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let Some(wasm) = built_strategy("next_step_over_websocket") else {
        return;
    };
    let server = start(&wasm, &provisioning(true));
    let (mut socket, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("WebSocket connected");
    let payload = json!({"controller": "auth", "action": "login", "strategy": "static",
        "requestId": "start", "body": {"start": true, "subject": "ada"}});
    socket
        .send(Message::Text(payload.to_string().into()))
        .await
        .expect("sent");
    let Some(Ok(Message::Text(text))) = socket.next().await else {
        panic!("no response");
    };
    let envelope: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(envelope["status"], 200, "{envelope}");
    assert_eq!(envelope["result"]["status"], 302);
    let location = envelope["result"]["headers"]["Location"]
        .as_str()
        .expect("a Location header");
    assert!(location.starts_with("/callback?state="), "{location}");
}

#[tokio::test]
async fn strategy_leaves_with_its_file() {
    let Some(wasm) = built_strategy("strategy_leaves_with_its_file") else {
        return;
    };
    let server = start(&wasm, &provisioning(true));
    let api = Api::new(&server);
    api.ok(login("ada", "ada-password"), None).await;

    std::fs::remove_file(server.plugins_dir.join("static-strategy.wasm")).expect("remove");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let strategies = api
            .ok(
                json!({"controller": "auth", "action": "getStrategies"}),
                None,
            )
            .await;
        if strategies == json!(["local"]) {
            break;
        }
        assert!(Instant::now() < deadline, "still {strategies} after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let envelope = api.query(login("ada", "ada-password"), None).await;
    assert_eq!(envelope["status"], 400);
    assert_eq!(error_id(&envelope), "security.credentials.unknown_strategy");
}

#[tokio::test]
async fn strategy_named_local_rejected() {
    let Some(wasm) = built_strategy("strategy_named_local_rejected") else {
        return;
    };
    let settings = format!("[settings]\nstrategy = \"local\"\n{ACCOUNTS}");
    let server = start(&wasm, &settings);
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let info = api
        .ok(
            json!({"controller": "server", "action": "info"}),
            Some(&admin),
        )
        .await;
    let errors = &info["serverInfo"]["kuzzle"]["plugins"]["loadErrors"];
    let error = errors["static-strategy.wasm"].as_str().unwrap_or_default();
    assert!(error.contains("built-in strategy"), "{info}");
    let strategies = api
        .ok(
            json!({"controller": "auth", "action": "getStrategies"}),
            Some(&admin),
        )
        .await;
    assert_eq!(strategies, json!(["local"]));
}
