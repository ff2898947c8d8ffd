//! An in-memory copy of the token registry entries that requests verify, so a request with a
//! known token reads no store.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::RegistryEntry;

/// Entries kept at most. Past it the cache starts over empty, which costs one store read per
/// token afterwards and bounds the memory at about this many entries.
const MAX_ENTRIES: usize = 100_000;

/// Registry entries by token fingerprint.
///
/// The token manager writes the store first and this cache second, and every write bumps a
/// generation. An entry read from the store is cached only if no write happened since the read
/// began, so a verification racing with a logout or a refresh never caches the old entry.
///
/// TODO(cluster): a token revoked on another node stays valid here until this node restarts.
/// Nodes sharing a store need an invalidation message for tokens, as for users and roles.
#[derive(Debug, Default)]
pub(super) struct RegistryCache {
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    entries: HashMap<String, RegistryEntry>,
    generation: u64,
}

impl RegistryCache {
    pub(super) fn get(&self, fingerprint: &str) -> Option<RegistryEntry> {
        self.state.lock().entries.get(fingerprint).cloned()
    }

    /// Returns the write generation, to pass to [`Self::insert_read`] after a store read.
    pub(super) fn generation(&self) -> u64 {
        self.state.lock().generation
    }

    /// Caches an entry read from the store, unless a write happened since `generation`.
    /// Single-use tokens are never cached: the store's delete decides which request consumes
    /// them.
    pub(super) fn insert_read(&self, fingerprint: &str, entry: &RegistryEntry, generation: u64) {
        let mut state = self.state.lock();
        if state.generation != generation || entry.single_use {
            return;
        }
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.clear();
        }
        state.entries.insert(fingerprint.to_owned(), entry.clone());
    }

    /// Records that the store entry changed: the next verification reads it again.
    pub(super) fn invalidate(&self, fingerprint: &str) {
        let mut state = self.state.lock();
        state.generation += 1;
        state.entries.remove(fingerprint);
    }

    /// Forgets every entry, after the registry was emptied outside the token manager.
    pub(super) fn clear(&self) {
        let mut state = self.state.lock();
        state.generation += 1;
        state.entries.clear();
    }
}
