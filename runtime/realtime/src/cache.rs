//! The per-document cache of the rooms a document matched at its last notification, which
//! decides the `scope: out` notifications.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Storage of the rooms each document matched at its previous notification.
///
/// A single node keeps it in memory ([`MemoryRoomCache`]); a cluster backs it with a shared
/// store so that any node can send the `out` notification. Keys look like Kuzzle's:
/// `{notif/<index>/<collection>}/<_id>`.
pub trait DocumentRoomCache {
    /// Returns the rooms stored for a document, or `None` when absent or expired.
    fn get(&mut self, key: &str) -> Option<Vec<String>>;
    /// Stores the rooms of a document, replacing any previous entry.
    fn set(&mut self, key: &str, rooms: Vec<String>);
    /// Forgets a document.
    fn remove(&mut self, key: &str);

    /// Returns false when the cache surely contains no entry. A cache that cannot tell cheaply
    /// keeps this default of true.
    fn may_hold_entries(&self) -> bool {
        true
    }
}

/// Returns the cache key of a document.
pub fn document_key(index: &str, collection: &str, id: &str) -> String {
    format!("{{notif/{index}/{collection}}}/{id}")
}

/// An in-memory [`DocumentRoomCache`] whose entries expire after a time to live.
#[derive(Debug)]
pub struct MemoryRoomCache {
    ttl: Option<Duration>,
    entries: HashMap<String, (Vec<String>, Option<Instant>)>,
    writes_since_sweep: usize,
}

/// Expired entries are swept after this many writes, so that memory stays bounded by the
/// documents written within one time to live.
const SWEEP_INTERVAL: usize = 4096;

impl MemoryRoomCache {
    /// Creates a cache; `ttl` of `None` keeps entries until removed (Kuzzle's
    /// `limits.subscriptionDocumentTTL` of 0).
    pub fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl,
            entries: HashMap::new(),
            writes_since_sweep: 0,
        }
    }

    /// Returns the number of stored entries, expired ones included until swept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true when no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn sweep(&mut self) {
        let now = Instant::now();
        self.entries
            .retain(|_, (_, expiry)| expiry.is_none_or(|expiry| expiry > now));
        self.writes_since_sweep = 0;
    }
}

impl Default for MemoryRoomCache {
    /// 72 hours, Kuzzle's default `limits.subscriptionDocumentTTL`.
    fn default() -> Self {
        Self::new(Some(Duration::from_secs(72 * 3600)))
    }
}

impl DocumentRoomCache for MemoryRoomCache {
    fn get(&mut self, key: &str) -> Option<Vec<String>> {
        let (rooms, expiry) = self.entries.get(key)?;
        if expiry.is_some_and(|expiry| expiry <= Instant::now()) {
            self.entries.remove(key);
            return None;
        }
        Some(rooms.clone())
    }

    fn set(&mut self, key: &str, rooms: Vec<String>) {
        let expiry = self.ttl.map(|ttl| Instant::now() + ttl);
        self.entries.insert(key.to_owned(), (rooms, expiry));
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= SWEEP_INTERVAL {
            self.sweep();
        }
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    fn may_hold_entries(&self) -> bool {
        !self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_removes() {
        let mut cache = MemoryRoomCache::new(None);
        cache.set("k", vec!["r".into()]);
        assert_eq!(cache.get("k"), Some(vec!["r".to_owned()]));
        cache.remove("k");
        assert_eq!(cache.get("k"), None);
    }

    #[test]
    fn entries_expire() {
        let mut cache = MemoryRoomCache::new(Some(Duration::from_millis(1)));
        cache.set("k", vec!["r".into()]);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(cache.get("k"), None);
        assert!(cache.is_empty(), "an expired entry is dropped when read");
    }

    #[test]
    fn key_format() {
        assert_eq!(document_key("i", "c", "d"), "{notif/i/c}/d");
    }
}
