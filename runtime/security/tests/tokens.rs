//! Tokens and API keys: issue, verify, reject forgeries, revoke, refresh, single use.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_security::token::{fingerprint, parse_duration};
use palisade_security::{
    AuthToken, Collection, ExpiresIn, ManualClock, MemoryStore, SecurityStore, TokenConfig,
    TokenKind, TokenManager,
};
use serde_json::{Value, json};

const START_MS: u64 = 1_700_000_000_000;

struct Fixture {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    tokens: TokenManager,
}

async fn fixture_with(config: TokenConfig) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(START_MS));
    let tokens = TokenManager::new(store.clone(), config, clock.clone())
        .await
        .expect("manager starts");
    Fixture {
        store,
        clock,
        tokens,
    }
}

async fn fixture() -> Fixture {
    fixture_with(TokenConfig::default()).await
}

fn error_id(result: palisade_security::Result<AuthToken>) -> &'static str {
    match result {
        Ok(token) => panic!("expected an error, got a valid token for {}", token.kuid),
        Err(error) => error.kuzzle_id(),
    }
}

/// Splits `kauth-<header>.<payload>.<signature>` into its prefix and three parts.
fn split(token: &str) -> (&str, Vec<&str>) {
    let (prefix, jwt) = token.split_at(token.find('-').expect("prefixed token") + 1);
    (prefix, jwt.split('.').collect())
}

fn payload(token: &str) -> Value {
    let (_, parts) = split(token);
    let bytes = URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

#[tokio::test]
async fn login_token_has_sdk_claims() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");

    assert!(token.token.starts_with("kauth-"));
    assert_eq!(split(&token.token).1.len(), 3, "three JWT parts");
    let claims = payload(&token.token);
    assert_eq!(claims["_id"], "alice");
    assert_eq!(claims["iat"], START_MS / 1000);
    assert_eq!(claims["exp"], (START_MS + 3_600_000) / 1000);
    assert_eq!(token.expires_at, Some(START_MS + 3_600_000));
    assert_eq!(token.ttl, Some(3_600_000));

    let result = token.login_result();
    assert_eq!(result["_id"], "alice");
    assert_eq!(result["jwt"], token.token.as_str());
    assert_eq!(result["expiresAt"], START_MS + 3_600_000);
    assert_eq!(result["ttl"], 3_600_000);

    let verified = fixture.tokens.verify(&token.token).await.expect("valid");
    assert_eq!(verified.kuid, "alice");
    assert_eq!(verified.kind, TokenKind::Auth);
}

#[tokio::test]
async fn tampered_signature_rejected() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    let (prefix, parts) = split(&token.token);

    // Flip one character in the middle of the signature.
    let mut signature: Vec<char> = parts[2].chars().collect();
    let middle = signature.len() / 2;
    signature[middle] = if signature[middle] == 'A' { 'B' } else { 'A' };
    let signature: String = signature.into_iter().collect();
    let tampered = format!("{prefix}{}.{}.{signature}", parts[0], parts[1]);
    assert_eq!(
        error_id(fixture.tokens.verify(&tampered).await),
        "security.token.invalid"
    );

    // Keep the signature but claim another user.
    let forged_payload = URL_SAFE_NO_PAD
        .encode(json!({"_id": "admin", "iat": 1, "exp": 99_999_999_999u64}).to_string());
    let forged = format!("{prefix}{}.{forged_payload}.{}", parts[0], parts[2]);
    assert_eq!(
        error_id(fixture.tokens.verify(&forged).await),
        "security.token.invalid"
    );
}

#[tokio::test]
async fn alg_none_rejected() {
    let fixture = fixture().await;
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(json!({"_id": "admin", "iat": 1}).to_string());
    for token in [
        format!("kauth-{header}.{claims}."),
        format!("kauth-{header}.{claims}"),
    ] {
        assert_eq!(
            error_id(fixture.tokens.verify(&token).await),
            "security.token.invalid"
        );
    }

    // An HS512 token signed with a guessed key is rejected as well: only HS256 is accepted.
    let hs512 = URL_SAFE_NO_PAD.encode(json!({"alg": "HS512", "typ": "JWT"}).to_string());
    let token = format!("kauth-{hs512}.{claims}.AAAA");
    assert_eq!(
        error_id(fixture.tokens.verify(&token).await),
        "security.token.invalid"
    );
}

#[tokio::test]
async fn expired_token_rejected() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .login_token("alice", Some(ExpiresIn::After(30_000)))
        .await
        .expect("token issued");

    fixture.clock.advance(29_999);
    assert!(
        fixture.tokens.verify(&token.token).await.is_ok(),
        "valid until its expiry"
    );
    fixture.clock.advance(1);
    assert_eq!(
        error_id(fixture.tokens.verify(&token.token).await),
        "security.token.expired"
    );
}

#[tokio::test]
async fn logout_revokes_token() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    let other = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    assert_ne!(
        token.token, other.token,
        "tokens issued in the same second differ"
    );

    fixture.tokens.logout(&token).await.expect("logout");
    assert_eq!(
        error_id(fixture.tokens.verify(&token.token).await),
        "security.token.invalid"
    );
    assert!(
        fixture.tokens.verify(&other.token).await.is_ok(),
        "logout revokes one token"
    );
}

#[tokio::test]
async fn global_logout_keeps_api_keys() {
    let fixture = fixture().await;
    let first = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    let second = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    let bob = fixture
        .tokens
        .login_token("bob", None)
        .await
        .expect("token issued");
    let api_key = fixture
        .tokens
        .create_api_key("alice", None, "ci", None)
        .await
        .expect("key created");

    let revoked = fixture.tokens.revoke_all("alice").await.expect("revoked");
    assert_eq!(revoked, 2);
    assert_eq!(
        error_id(fixture.tokens.verify(&first.token).await),
        "security.token.invalid"
    );
    assert_eq!(
        error_id(fixture.tokens.verify(&second.token).await),
        "security.token.invalid"
    );
    assert!(
        fixture.tokens.verify(&bob.token).await.is_ok(),
        "other users keep their tokens"
    );
    let key_token = api_key.token.expect("token returned at creation");
    assert!(
        fixture.tokens.verify(&key_token).await.is_ok(),
        "API keys survive a global logout"
    );
}

#[tokio::test]
async fn wrong_prefix_rejected() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    let jwt = token.token.strip_prefix("kauth-").expect("prefixed");

    for candidate in [
        jwt.to_owned(),
        format!("kapikey-{jwt}"),
        format!("Bearer {jwt}"),
        format!("kauth{jwt}"),
    ] {
        assert_eq!(
            error_id(fixture.tokens.verify(&candidate).await),
            "security.token.invalid",
            "token {candidate:.12}"
        );
    }
}

#[tokio::test]
async fn other_secret_rejected() {
    let fixture = fixture().await;
    let config = TokenConfig {
        secret: Some("another secret".to_owned()),
        ..TokenConfig::default()
    };
    // The foreign manager shares the store, so its token is even in the registry: only the
    // signature can reject it.
    let foreign = TokenManager::new(fixture.store.clone(), config, fixture.clock.clone())
        .await
        .expect("manager");
    let token = foreign
        .login_token("alice", None)
        .await
        .expect("token issued");
    assert!(foreign.verify(&token.token).await.is_ok());
    assert_eq!(
        error_id(fixture.tokens.verify(&token.token).await),
        "security.token.invalid"
    );
}

#[tokio::test]
async fn secret_generated_once_and_shared() {
    let fixture = fixture().await;
    let stored = fixture
        .store
        .get(Collection::Config, "security.jwt.secret")
        .await
        .expect("store");
    let seed = stored
        .as_ref()
        .and_then(|document| document["seed"].as_str())
        .expect("seed stored");
    assert_eq!(seed.len(), 128, "64 random bytes in hex");

    let token = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    let restarted = TokenManager::new(
        fixture.store.clone(),
        TokenConfig::default(),
        fixture.clock.clone(),
    )
    .await
    .expect("manager");
    assert!(
        restarted.verify(&token.token).await.is_ok(),
        "a restart reuses the stored secret"
    );

    let empty = TokenConfig {
        secret: Some(String::new()),
        ..TokenConfig::default()
    };
    let rejected = TokenManager::new(fixture.store.clone(), empty, fixture.clock.clone()).await;
    assert_eq!(
        rejected.err().map(|error| error.kuzzle_id()),
        Some("api.assert.invalid_argument")
    );
}

#[tokio::test]
async fn refresh_keeps_old_token_for_grace_period() {
    let fixture = fixture().await;
    let old = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    fixture.clock.advance(10_000);

    let refreshed = fixture
        .tokens
        .refresh(&old, Some(ExpiresIn::After(7_200_000)))
        .await
        .expect("refreshed");
    assert_ne!(refreshed.token, old.token);
    assert_eq!(refreshed.expires_at, Some(START_MS + 10_000 + 7_200_000));

    fixture.clock.advance(999);
    assert!(
        fixture.tokens.verify(&old.token).await.is_ok(),
        "old token valid during the grace period"
    );
    fixture.clock.advance(1);
    assert!(
        fixture.tokens.verify(&old.token).await.is_err(),
        "old token rejected after the grace period"
    );
    assert!(fixture.tokens.verify(&refreshed.token).await.is_ok());
}

#[tokio::test]
async fn refresh_rejects_api_keys_and_infinite_tokens() {
    let fixture = fixture().await;
    let forever = fixture
        .tokens
        .login_token("alice", Some(ExpiresIn::Never))
        .await
        .expect("token issued");
    assert_eq!(
        payload(&forever.token).get("exp"),
        None,
        "no exp claim without expiry"
    );
    assert_eq!(
        error_id(fixture.tokens.refresh(&forever, None).await),
        "security.token.refresh_forbidden"
    );

    let api_key = fixture
        .tokens
        .create_api_key("alice", None, "", None)
        .await
        .expect("key created");
    let verified = fixture
        .tokens
        .verify(&api_key.token.expect("token"))
        .await
        .expect("valid key");
    assert_eq!(
        error_id(fixture.tokens.refresh(&verified, None).await),
        "security.token.refresh_forbidden"
    );
}

#[tokio::test]
async fn single_use_token_works_once() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .create_token("alice", Some(ExpiresIn::After(60_000)), true)
        .await
        .expect("token issued");
    assert_eq!(token.create_token_result()["singleUse"], true);

    let checked = fixture
        .tokens
        .check_token(Some(&token.token))
        .await
        .expect("check");
    assert_eq!(
        checked.to_json()["valid"],
        true,
        "checkToken does not consume the token"
    );

    let first = fixture
        .tokens
        .authenticate(&token.token)
        .await
        .expect("first use");
    assert!(first.single_use);
    assert_eq!(
        error_id(fixture.tokens.authenticate(&token.token).await),
        "security.token.invalid"
    );
}

#[tokio::test]
async fn create_token_requires_expiry() {
    let fixture = fixture().await;
    let result = fixture
        .tokens
        .create_token("alice", Some(ExpiresIn::Never), false)
        .await;
    assert_eq!(error_id(result), "security.token.invalid_expiration");
}

#[tokio::test]
async fn max_ttl_enforced() {
    let fixture = fixture_with(TokenConfig {
        max_ttl_ms: Some(3_600_000),
        ..TokenConfig::default()
    })
    .await;
    let too_long = parse_duration("2h").expect("valid duration");
    assert_eq!(
        error_id(fixture.tokens.login_token("alice", Some(too_long)).await),
        "security.token.ttl_exceeded"
    );
    assert_eq!(
        error_id(
            fixture
                .tokens
                .login_token("alice", Some(ExpiresIn::Never))
                .await
        ),
        "security.token.ttl_exceeded"
    );
    assert!(
        fixture
            .tokens
            .login_token("alice", Some(ExpiresIn::After(3_600_000)))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn api_key_stored_by_fingerprint_only() {
    let fixture = fixture().await;
    let api_key = fixture
        .tokens
        .create_api_key(
            "alice",
            Some(ExpiresIn::After(86_400_000)),
            "deploy bot",
            Some("key-1"),
        )
        .await
        .expect("key created");
    let token = api_key.token.clone().expect("token returned at creation");
    assert!(token.starts_with("kapikey-"));
    assert_eq!(api_key.fingerprint, fingerprint(&token));

    let stored = fixture
        .store
        .list(Collection::ApiKeys)
        .await
        .expect("store");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].source["fingerprint"],
        api_key.fingerprint.as_str()
    );
    let everything = serde_json::to_string(&stored[0].source).expect("serializable");
    let jwt = token.strip_prefix("kapikey-").expect("prefixed");
    assert!(!everything.contains(jwt), "the token is never stored");

    let verified = fixture.tokens.verify(&token).await.expect("valid key");
    assert_eq!(verified.kind, TokenKind::ApiKey);
    assert_eq!(verified.kuid, "alice");
    assert_eq!(verified.expires_at, Some(START_MS + 86_400_000));

    let json = api_key.to_json();
    assert_eq!(json["_id"], "key-1");
    assert_eq!(json["_source"]["userId"], "alice");
    assert_eq!(json["_source"]["description"], "deploy bot");
    assert_eq!(json["_source"]["token"], token.as_str());

    let listed = fixture.tokens.list_api_keys("alice").await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].token, None, "listed keys carry no token");

    let duplicate = fixture
        .tokens
        .create_api_key("alice", None, "", Some("key-1"))
        .await;
    assert_eq!(
        duplicate.err().map(|error| error.kuzzle_id()),
        Some("services.storage.document_already_exists")
    );

    let not_owner = fixture.tokens.delete_api_key("bob", "key-1").await;
    assert_eq!(
        not_owner.err().map(|error| error.kuzzle_id()),
        Some("services.storage.not_found")
    );
    fixture
        .tokens
        .delete_api_key("alice", "key-1")
        .await
        .expect("deleted");
    assert_eq!(
        error_id(fixture.tokens.verify(&token).await),
        "security.token.invalid"
    );
}

#[tokio::test]
async fn api_key_expires() {
    let fixture = fixture().await;
    let api_key = fixture
        .tokens
        .create_api_key("alice", Some(ExpiresIn::After(5_000)), "", None)
        .await
        .expect("key");
    let token = api_key.token.expect("token");
    fixture.clock.advance(5_000);
    assert_eq!(
        error_id(fixture.tokens.verify(&token).await),
        "security.token.expired"
    );
}

#[tokio::test]
async fn check_token_shapes() {
    let fixture = fixture().await;

    for empty in [None, Some("")] {
        let anonymous = fixture.tokens.check_token(empty).await.expect("check");
        assert_eq!(
            anonymous.to_json(),
            json!({"valid": true, "kuid": "-1", "expiresAt": null})
        );
    }

    let token = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    let valid = fixture
        .tokens
        .check_token(Some(&token.token))
        .await
        .expect("check");
    assert_eq!(
        valid.to_json(),
        json!({"valid": true, "kuid": "alice", "expiresAt": START_MS + 3_600_000})
    );

    let invalid = fixture
        .tokens
        .check_token(Some("kauth-garbage"))
        .await
        .expect("check")
        .to_json();
    assert_eq!(invalid["valid"], false);
    assert!(
        invalid["state"]
            .as_str()
            .is_some_and(|state| state.contains("invalid token"))
    );
    assert_eq!(
        invalid.as_object().map(|object| object.len()),
        Some(2),
        "only `valid` and `state`"
    );

    fixture.clock.advance(3_600_000);
    let expired = fixture
        .tokens
        .check_token(Some(&token.token))
        .await
        .expect("check")
        .to_json();
    assert_eq!(expired["valid"], false);
    assert!(
        expired["state"]
            .as_str()
            .is_some_and(|state| state.contains("expired"))
    );
}

#[tokio::test]
async fn expiry_is_observable() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .login_token("alice", Some(ExpiresIn::After(90_000)))
        .await
        .expect("token issued");
    let expires_at = fixture
        .tokens
        .expires_at(&token.token)
        .await
        .expect("valid");
    assert_eq!(expires_at, Some(START_MS + 90_000));
}

#[tokio::test]
async fn purge_removes_only_expired_entries() {
    let fixture = fixture().await;
    fixture
        .tokens
        .login_token("alice", Some(ExpiresIn::After(1_000)))
        .await
        .expect("token issued");
    let lasting = fixture
        .tokens
        .login_token("alice", Some(ExpiresIn::After(60_000)))
        .await
        .expect("token issued");
    fixture
        .tokens
        .login_token("alice", Some(ExpiresIn::Never))
        .await
        .expect("token issued");

    fixture.clock.advance(1_000);
    assert_eq!(fixture.tokens.purge_expired().await.expect("purged"), 1);
    assert_eq!(
        fixture
            .store
            .list(Collection::Tokens)
            .await
            .expect("store")
            .len(),
        2
    );
    assert!(fixture.tokens.verify(&lasting.token).await.is_ok());
}

#[tokio::test]
async fn cached_token_follows_registry_writes() {
    let fixture = fixture().await;
    let token = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");

    // The first verification caches the registry entry; the store is not read again.
    fixture.tokens.verify(&token.token).await.expect("valid");
    fixture
        .store
        .delete(Collection::Tokens, &fingerprint(&token.token))
        .await
        .unwrap();
    assert!(
        fixture.tokens.verify(&token.token).await.is_ok(),
        "served from the cache"
    );
    fixture.tokens.forget_cached_tokens();
    assert_eq!(
        error_id(fixture.tokens.verify(&token.token).await),
        "security.token.invalid",
        "a registry emptied in the store is seen after forget_cached_tokens"
    );

    let refreshed_from = fixture
        .tokens
        .login_token("alice", Some(ExpiresIn::After(3_600_000)))
        .await
        .expect("token issued");
    fixture
        .tokens
        .verify(&refreshed_from.token)
        .await
        .expect("valid and cached");
    fixture
        .tokens
        .refresh(&refreshed_from, None)
        .await
        .expect("refreshed");
    fixture.clock.advance(60_000);
    assert_eq!(
        error_id(fixture.tokens.verify(&refreshed_from.token).await),
        "security.token.expired",
        "the grace period of a refresh applies to a cached token"
    );

    let logged_out = fixture
        .tokens
        .login_token("alice", None)
        .await
        .expect("token issued");
    fixture
        .tokens
        .verify(&logged_out.token)
        .await
        .expect("valid and cached");
    fixture.tokens.logout(&logged_out).await.expect("logout");
    assert_eq!(
        error_id(fixture.tokens.verify(&logged_out.token).await),
        "security.token.invalid"
    );
}
