//! Short-lived values kept between calls, such as a login's state or used one-time ids. They
//! live in the server's memory: a reload of the plugin keeps them, a restart does not.

use crate::ApiError;
use crate::bindings::palisade::plugin::store;

/// Stores `value` under `key` for `ttl_ms` milliseconds unless `key` already has an unexpired
/// value. Returns false, and keeps the old value, in that case.
///
/// # Errors
///
/// A 413 error for a key or value over the host's limits, or a full store.
pub fn put_new(key: &str, value: &str, ttl_ms: u64) -> Result<bool, ApiError> {
    store::put_new(key, value, ttl_ms).map_err(ApiError::from)
}

/// Removes the value of `key` and returns it; of two calls for one key, only one gets it.
pub fn take(key: &str) -> Option<String> {
    store::take(key)
}

/// Returns the unexpired value of `key` without removing it.
pub fn get(key: &str) -> Option<String> {
    store::get(key)
}
