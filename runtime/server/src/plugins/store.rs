//! The `store` import: short-lived values that plugins keep between calls, such as the state of
//! a login that goes through an identity provider.
//!
//! Values are kept per plugin file name, so a reloaded plugin finds what its previous version
//! stored. They live in this server's memory only.
//! TODO(cluster): a cluster needs a shared store (Redis) so a login can end on another node.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use palisade_plugins::ApiError;
use parking_lot::Mutex;

/// Maximum key length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Maximum value length, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Maximum number of unexpired values one plugin may keep.
pub const MAX_ENTRIES_PER_PLUGIN: usize = 100_000;
/// Maximum time a value is kept, whatever the plugin requests.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Error id of a value the store cannot keep.
const TOO_LARGE_ID: &str = "plugin.store.too_large";

/// The short-lived values of every plugin.
#[derive(Debug, Default)]
pub struct PluginStore {
    plugins: Mutex<HashMap<String, HashMap<String, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    value: String,
    expires_at: Instant,
}

impl PluginStore {
    /// Stores `value` under `key` unless the key has an unexpired value; returns whether it
    /// stored it.
    ///
    /// # Errors
    ///
    /// A 413 error for a key or value over the limits, or when the plugin's store is full.
    pub fn put_new(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, ApiError> {
        check_size(plugin, "key", key.len(), MAX_KEY_BYTES)?;
        check_size(plugin, "value", value.len(), MAX_VALUE_BYTES)?;

        let now = Instant::now();
        let mut plugins = self.plugins.lock();
        let entries = plugins.entry(plugin.to_owned()).or_default();
        if entries.get(key).is_some_and(|entry| entry.expires_at > now) {
            return Ok(false);
        }
        if entries.len() >= MAX_ENTRIES_PER_PLUGIN {
            entries.retain(|_, entry| entry.expires_at > now);
        }
        if entries.len() >= MAX_ENTRIES_PER_PLUGIN {
            tracing::warn!(plugin, "plugin store full: value rejected");
            return Err(full_error(plugin));
        }

        let expires_at = now + ttl.min(MAX_TTL);
        let entry = Entry {
            value: value.to_owned(),
            expires_at,
        };
        entries.insert(key.to_owned(), entry);
        Ok(true)
    }

    /// Removes the value of `key` and returns it, unless it expired.
    pub fn take(&self, plugin: &str, key: &str) -> Option<String> {
        let mut plugins = self.plugins.lock();
        let entry = plugins.get_mut(plugin)?.remove(key)?;
        (entry.expires_at > Instant::now()).then_some(entry.value)
    }

    /// Returns the unexpired value of `key`.
    pub fn get(&self, plugin: &str, key: &str) -> Option<String> {
        let plugins = self.plugins.lock();
        let entry = plugins.get(plugin)?.get(key)?;
        (entry.expires_at > Instant::now()).then(|| entry.value.clone())
    }
}

fn check_size(plugin: &str, what: &str, length: usize, max: usize) -> Result<(), ApiError> {
    if length <= max {
        return Ok(());
    }
    Err(ApiError {
        status: 413,
        id: TOO_LARGE_ID.to_owned(),
        message: format!(
            "The store {what} of plugin \"{plugin}\" has {length} bytes, more than the maximum of \
             {max}: store a smaller {what}."
        ),
        props: vec![what.to_owned(), max.to_string()],
    })
}

fn full_error(plugin: &str) -> ApiError {
    ApiError {
        status: 413,
        id: TOO_LARGE_ID.to_owned(),
        message: format!(
            "Plugin \"{plugin}\" keeps {MAX_ENTRIES_PER_PLUGIN} unexpired values, the maximum: \
             use shorter time-to-live values or take values once used."
        ),
        props: vec![MAX_ENTRIES_PER_PLUGIN.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn put_new_keeps_first_value() {
        let store = PluginStore::default();
        assert_eq!(store.put_new("oidc", "state", "a", MINUTE).ok(), Some(true));
        assert_eq!(
            store.put_new("oidc", "state", "b", MINUTE).ok(),
            Some(false)
        );
        assert_eq!(store.get("oidc", "state").as_deref(), Some("a"));
    }

    #[test]
    fn take_returns_value_once() {
        let store = PluginStore::default();
        store.put_new("oidc", "state", "a", MINUTE).unwrap();
        assert_eq!(store.take("oidc", "state").as_deref(), Some("a"));
        assert_eq!(store.take("oidc", "state"), None);
    }

    #[test]
    fn plugins_have_separate_keys() {
        let store = PluginStore::default();
        store.put_new("oidc", "state", "a", MINUTE).unwrap();
        assert_eq!(store.get("saml", "state"), None);
        assert_eq!(store.put_new("saml", "state", "b", MINUTE).ok(), Some(true));
    }

    #[test]
    fn expired_value_is_gone() {
        let store = PluginStore::default();
        store.put_new("saml", "id", "a", Duration::ZERO).unwrap();
        assert_eq!(store.get("saml", "id"), None);
        assert_eq!(store.take("saml", "id"), None);
        assert_eq!(store.put_new("saml", "id", "b", MINUTE).ok(), Some(true));
    }

    #[test]
    fn oversized_value_rejected() {
        let store = PluginStore::default();
        let value = "x".repeat(MAX_VALUE_BYTES + 1);
        let error = store.put_new("saml", "id", &value, MINUTE).unwrap_err();
        assert_eq!(error.status, 413);
        assert_eq!(error.id, TOO_LARGE_ID);
    }
}
