//! The host's clock and random generator; plugins have no WASI for them.

use crate::bindings::palisade::plugin::environment;

/// Returns the milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    environment::now_ms()
}

/// Returns `length` bytes from the host's cryptographically secure generator. The host traps
/// the call above 1 MiB.
pub fn random_bytes(length: u32) -> Vec<u8> {
    environment::random_bytes(length)
}

/// Returns the plugin's settings, the JSON object `init` received. Every call runs in a fresh
/// instance, so controllers, pipes and hooks read their settings here.
pub fn settings() -> serde_json::Value {
    let text = environment::settings();
    // The host always sends a JSON object; an unreadable one reads as no settings.
    serde_json::from_str(&text).unwrap_or_else(|_| serde_json::Value::Object(Default::default()))
}
