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
