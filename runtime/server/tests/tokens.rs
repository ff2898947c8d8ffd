//! Token verification over the API: forged, expired, revoked and foreign tokens are rejected,
//! and users, tokens and API keys survive a restart.

mod support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{SinkExt, StreamExt};
use palisade_test_harness::{ServerBuilder, TestServer};
use serde_json::{Value, json};
use support::{ADMIN, Api, error_id};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_palisade")
}

fn now() -> Value {
    json!({"controller": "server", "action": "now"})
}

/// Splits `kauth-<header>.<payload>.<signature>` into its prefix and three parts.
fn parts(token: &str) -> (&str, Vec<&str>) {
    let (prefix, jwt) = token.split_at(token.find('-').unwrap() + 1);
    (prefix, jwt.split('.').collect())
}

async fn assert_rejected(api: &Api, token: &str, expected: &str, case: &str) {
    let envelope = api.query(now(), Some(token)).await;
    assert_eq!(
        error_id(&envelope),
        expected,
        "{case}: {}",
        envelope["error"]
    );
    assert_eq!(envelope["status"], 401, "{case}");
}

#[tokio::test]
async fn forged_tokens_rejected() {
    let server = TestServer::start(binary());
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    assert_eq!(api.query(now(), Some(&admin)).await["status"], 200);
    let (prefix, jwt) = parts(&admin);

    // A tampered signature: the last character changed.
    let mut signature = jwt[2].to_owned();
    let last = signature.pop().unwrap();
    signature.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = format!("{prefix}{}.{}.{signature}", jwt[0], jwt[1]);
    assert_rejected(
        &api,
        &tampered,
        "security.token.invalid",
        "tampered signature",
    )
    .await;

    // A tampered payload, signature kept.
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt[1]).unwrap()).unwrap();
    let mut promoted = claims.clone();
    promoted["_id"] = json!("someone-else");
    let payload = URL_SAFE_NO_PAD.encode(promoted.to_string());
    let swapped = format!("{prefix}{}.{payload}.{}", jwt[0], jwt[2]);
    assert_rejected(&api, &swapped, "security.token.invalid", "tampered payload").await;

    // `alg: none` with no signature.
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let unsigned = format!("{prefix}{header}.{}.", jwt[1]);
    assert_rejected(&api, &unsigned, "security.token.invalid", "alg none").await;

    // A wrong prefix, and no prefix at all.
    let wrong_prefix = format!("kapi-{}", jwt.join("."));
    assert_rejected(
        &api,
        &wrong_prefix,
        "security.token.invalid",
        "wrong prefix",
    )
    .await;
    assert_rejected(&api, &jwt.join("."), "security.token.invalid", "no prefix").await;

    // An authentication token presented as an API key.
    let as_api_key = format!("kapikey-{}", jwt.join("."));
    assert_rejected(
        &api,
        &as_api_key,
        "security.token.invalid",
        "auth token as API key",
    )
    .await;
}

#[tokio::test]
async fn token_of_another_secret_rejected() {
    let first = ServerBuilder::new(binary())
        .env("PALISADE_SECURITY__AUTH_TOKEN__SECRET", "first-secret")
        .start();
    let second = ServerBuilder::new(binary())
        .env("PALISADE_SECURITY__AUTH_TOKEN__SECRET", "second-secret")
        .start();
    let (first_api, second_api) = (Api::new(&first), Api::new(&second));
    let first_token = first_api.create_first_admin().await;
    second_api.create_first_admin().await;

    assert_eq!(
        first_api.query(now(), Some(&first_token)).await["status"],
        200
    );
    assert_rejected(
        &second_api,
        &first_token,
        "security.token.invalid",
        "other secret",
    )
    .await;
}

#[tokio::test]
async fn expired_and_revoked_tokens_rejected() {
    let server = TestServer::start(binary());
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let short = api.login_for(ADMIN.0, ADMIN.1, Some(json!(1000))).await;
    assert_eq!(api.query(now(), Some(&short)).await["status"], 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_rejected(&api, &short, "security.token.expired", "expired").await;
    let check = api
        .ok(
            json!({"controller": "auth", "action": "checkToken", "body": {"token": short}}),
            None,
        )
        .await;
    assert_eq!(check["valid"], false);

    // Logout revokes only the token it was sent with, and `global` revokes every token.
    let second = api.login(ADMIN.0, ADMIN.1).await;
    api.ok(
        json!({"controller": "auth", "action": "logout"}),
        Some(&admin),
    )
    .await;
    assert_rejected(&api, &admin, "security.token.invalid", "after logout").await;
    assert_eq!(api.query(now(), Some(&second)).await["status"], 200);
    let third = api.login(ADMIN.0, ADMIN.1).await;
    api.ok(
        json!({"controller": "auth", "action": "logout", "global": true}),
        Some(&second),
    )
    .await;
    assert_rejected(
        &api,
        &third,
        "security.token.invalid",
        "after global logout",
    )
    .await;
}

#[tokio::test]
async fn single_use_and_refreshed_tokens() {
    let server = TestServer::start(binary());
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;

    let created = api
        .ok(
            json!({"controller": "auth", "action": "createToken", "singleUse": true}),
            Some(&admin),
        )
        .await;
    assert_eq!(created["singleUse"], true);
    let single = created["token"].as_str().unwrap();
    assert_eq!(api.query(now(), Some(single)).await["status"], 200);
    assert_rejected(&api, single, "security.token.invalid", "single-use reused").await;

    let refreshed = api
        .ok(
            json!({"controller": "auth", "action": "refreshToken"}),
            Some(&admin),
        )
        .await;
    let new_token = refreshed["jwt"].as_str().unwrap();
    assert_ne!(new_token, admin);
    assert_eq!(api.query(now(), Some(new_token)).await["status"], 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_rejected(
        &api,
        &admin,
        "security.token.expired",
        "after the grace period",
    )
    .await;
}

#[tokio::test]
async fn security_survives_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerBuilder::new(binary()).data_dir(data.path()).start();
    let api = Api::new(&server);
    let admin = api.create_first_admin().await;
    let api_key = api
        .ok(
            json!({"controller": "auth", "action": "createApiKey", "body": {"description": "ci"}}),
            Some(&admin),
        )
        .await;
    let api_key = api_key["_source"]["token"].as_str().unwrap().to_owned();
    api.put_role(
        &admin,
        "kept",
        json!({"server": {"actions": {"now": true}}}),
    )
    .await;
    server.stop();

    let server = ServerBuilder::new(binary()).data_dir(data.path()).start();
    let api = Api::new(&server);
    assert_eq!(
        api.query(now(), Some(&admin)).await["status"],
        200,
        "token kept"
    );
    assert_eq!(
        api.query(now(), Some(&api_key)).await["status"],
        200,
        "API key kept"
    );
    let login = api.login(ADMIN.0, ADMIN.1).await;
    let role = api
        .ok(
            json!({"controller": "security", "action": "getRole", "_id": "kept"}),
            Some(&login),
        )
        .await;
    assert_eq!(
        role["_source"]["controllers"]["server"]["actions"]["now"],
        true
    );
    let anonymous = api.query(now(), None).await;
    assert_eq!(
        error_id(&anonymous),
        "security.rights.unauthorized",
        "restricted rights kept"
    );
    let exists = api
        .ok(
            json!({"controller": "server", "action": "adminExists"}),
            Some(&login),
        )
        .await;
    assert_eq!(exists["exists"], true);
}

#[tokio::test]
async fn websocket_gets_token_expired() {
    let server = TestServer::start(binary());
    let api = Api::new(&server);
    api.create_first_admin().await;

    let (mut socket, _) = connect_async(server.ws_url()).await.unwrap();
    let login = json!({"controller": "auth", "action": "login", "strategy": "local",
        "expiresIn": 1000, "requestId": "login", "body": {"username": ADMIN.0, "password": ADMIN.1}});
    socket
        .send(Message::Text(login.to_string().into()))
        .await
        .unwrap();

    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            let expired = frame["type"] == "TokenExpired";
            frames.push(frame);
            if expired {
                break;
            }
        }
    }
    assert_eq!(frames[0]["room"], "login");
    assert_eq!(frames[0]["status"], 200, "{}", frames[0]);
    let notification = frames.last().unwrap();
    assert_eq!(notification["type"], "TokenExpired", "frames: {frames:?}");
    assert_eq!(notification["status"], 200);
    assert_eq!(notification["message"], "Authentication Token Expired");
    assert_eq!(
        notification["info"],
        "This is an automated server notification"
    );
    assert_eq!(notification["room"], "kuzzle:notification:server");
    assert!(notification["node"].as_str().unwrap().starts_with("knode-"));
}

#[tokio::test]
async fn cookie_authentication_over_http() {
    let server = TestServer::start(binary());
    let api = Api::new(&server);
    api.create_first_admin().await;
    let client = reqwest::Client::new();

    let login = client
        .post(format!("{}/_login/local?cookieAuth", server.http_url()))
        .json(&json!({"username": ADMIN.0, "password": ADMIN.1}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let body: Value = login.json().await.unwrap();
    assert!(
        body["result"].get("jwt").is_none(),
        "token only in the cookie"
    );
    assert!(
        body["headers"].get("Set-Cookie").is_none(),
        "cookie not repeated in the envelope"
    );
    assert!(cookie.starts_with("authToken=kauth-"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token_pair = cookie.split(';').next().unwrap().to_owned();

    let me = client
        .get(format!("{}/_me", server.http_url()))
        .header("Cookie", &token_pair)
        .send()
        .await
        .unwrap();
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["result"]["_id"], "admin");

    let logout = client
        .post(format!("{}/_logout?cookieAuth", server.http_url()))
        .header("Cookie", &token_pair)
        .send()
        .await
        .unwrap();
    let cleared = logout.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("authToken=null;"), "{cleared}");
    let after = client
        .get(format!("{}/_me", server.http_url()))
        .header("Cookie", &token_pair)
        .send()
        .await
        .unwrap();
    let after: Value = after.json().await.unwrap();
    assert_eq!(after["error"]["id"], "security.token.invalid");
}
