//! The security layer's cost per request, and `auth:login` throughput with argon2id.
//!
//! Three measures, each next to its anchor in the same run:
//! - token verification as the server does it (signature, expiry, then the token registry
//!   lookup, cached in memory in front of the embedded store) against the bare HS256 signature
//!   check of the same JWT;
//! - the rights decision of a request (cached user, profiles and roles, then the role matrix and
//!   restrictions) against the role matrix lookup alone;
//! - argon2id password verification at the production cost (OWASP's recommended minimum for
//!   argon2id: 19 MiB of memory, 2 iterations, 1 lane), single-threaded and on every core.
//!
//! Run: `cargo run --release -p palisade-bench --bin security_costs`

#![allow(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::sync::Arc;
use std::time::Instant;

use palisade_security::PasswordHasher;
use palisade_server::Config;
use palisade_server::security::SecurityLayer;
use palisade_storage::{DocumentStore, EmbeddedEngine, EngineConfig};

const TOKEN_ROUNDS: u32 = 20_000;
const RIGHTS_ROUNDS: u32 = 200_000;
const HASHES: u32 = 20;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();

    runtime.block_on(async {
        let engine =
            EmbeddedEngine::open(EngineConfig::new(scratch.path().join("storage"))).unwrap();
        let storage: Arc<dyn DocumentStore> = Arc::new(engine);
        let config = Config::default();
        let layer = SecurityLayer::open(storage, &config).await.unwrap();

        println!("| measure | palisade | anchor | ratio |");
        println!("|---|---|---|---|");
        token_costs(&layer).await;
        rights_costs(&layer).await;
    });
    password_costs();
}

/// Measures token verification along the server's path, then the bare signature check.
async fn token_costs(layer: &SecurityLayer) {
    let token = layer.tokens.login_token("admin", None).await.unwrap().token;

    let started = Instant::now();
    for _ in 0..TOKEN_ROUNDS {
        layer.tokens.authenticate(&token).await.unwrap();
    }
    let full = started.elapsed().as_nanos() as f64 / f64::from(TOKEN_ROUNDS);

    let secret = stored_secret(layer).await;
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let jwt = token.trim_start_matches("kauth-");
    let started = Instant::now();
    for _ in 0..TOKEN_ROUNDS {
        jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &validation).unwrap();
    }
    let bare = started.elapsed().as_nanos() as f64 / f64::from(TOKEN_ROUNDS);

    println!(
        "| token verification, µs per request | {:.1} | {:.1} (HS256 signature only) | {:.1}× |",
        full / 1000.0,
        bare / 1000.0,
        full / bare
    );
}

/// Reads the signing secret the token manager generated, for the anchor's own decoder.
async fn stored_secret(layer: &SecurityLayer) -> String {
    let id = palisade_security::token::SECRET_CONFIG_ID;
    let document = layer
        .security
        .store()
        .get(palisade_security::Collection::Config, id)
        .await;
    let document = document
        .unwrap()
        .expect("the token manager stored its secret");
    document["seed"]
        .as_str()
        .expect("secret in `seed`")
        .to_owned()
}

/// Measures the rights decision as the funnel makes it, then the role matrix lookup alone.
async fn rights_costs(layer: &SecurityLayer) {
    let started = Instant::now();
    for _ in 0..RIGHTS_ROUNDS {
        let user = layer.security.get_user("-1").await.unwrap();
        let rights = layer.security.user_rights(user).await.unwrap();
        rights
            .check("document", "search", Some("iot"), Some("sensors"))
            .unwrap();
    }
    let full = started.elapsed().as_nanos() as f64 / f64::from(RIGHTS_ROUNDS);

    let role = layer.security.get_role("anonymous").await.unwrap();
    let started = Instant::now();
    for _ in 0..RIGHTS_ROUNDS {
        assert!(std::hint::black_box(&role).is_action_allowed("document", "search"));
    }
    let bare = started.elapsed().as_nanos() as f64 / f64::from(RIGHTS_ROUNDS);

    println!(
        "| rights decision, ns per request | {full:.0} | {bare:.0} (role matrix lookup only) | {:.1}× |",
        full / bare
    );
}

/// Measures argon2id verification at the production cost, on one thread and on every core.
fn password_costs() {
    let hasher = Arc::new(PasswordHasher::new().unwrap());
    let hash = hasher.hash("correct horse battery staple").unwrap();

    let started = Instant::now();
    for _ in 0..HASHES {
        assert!(hasher.verify("correct horse battery staple", &hash));
    }
    let per_hash_ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(HASHES);

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as u32;
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let hasher = hasher.clone();
            let hash = hash.clone();
            std::thread::spawn(move || {
                for _ in 0..HASHES {
                    assert!(hasher.verify("correct horse battery staple", &hash));
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let per_second = f64::from(cores * HASHES) / started.elapsed().as_secs_f64();

    println!("| argon2id verify (19 MiB, t=2, p=1), ms per login | {per_hash_ms:.1} | | |");
    println!("| logins per second on {cores} cores | {per_second:.0} | | |");
}
