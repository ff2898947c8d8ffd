//! Scroll searches: the ordered hits of a search kept for later pages, with a TTL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::error::{Result, StorageError};
use crate::query::source::SourceFilter;

/// One hit kept by a scroll.
#[derive(Debug, Clone)]
pub(crate) struct ScrollEntry {
    pub index: String,
    pub collection: String,
    pub id: String,
    pub score: f32,
    pub sort: Option<Vec<Value>>,
}

#[derive(Debug)]
struct ScrollState {
    entries: Vec<ScrollEntry>,
    position: usize,
    page_size: usize,
    source: SourceFilter,
    expires_at: Instant,
}

/// A page taken from a scroll.
#[derive(Debug)]
pub(crate) struct ScrollPage {
    pub entries: Vec<ScrollEntry>,
    pub source: SourceFilter,
    pub total: u64,
    pub remaining: u64,
}

/// The open scrolls of the engine.
#[derive(Debug, Default)]
pub(crate) struct ScrollRegistry {
    scrolls: Mutex<HashMap<String, ScrollState>>,
}

impl ScrollRegistry {
    /// Keeps the hits of a search, read `page_size` at a time, and returns the new scroll id.
    pub fn register(
        &self,
        entries: Vec<ScrollEntry>,
        page_size: usize,
        source: SourceFilter,
        ttl: Duration,
    ) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let state = ScrollState {
            entries,
            position: 0,
            page_size,
            source,
            expires_at: Instant::now() + ttl,
        };
        let mut scrolls = self.scrolls.lock();
        let now = Instant::now();
        scrolls.retain(|_, state| state.expires_at > now);
        scrolls.insert(id.clone(), state);
        id
    }

    /// Takes the next page of a scroll; a given `ttl` restarts its expiry.
    pub fn next_page(&self, scroll_id: &str, ttl: Option<Duration>) -> Result<ScrollPage> {
        let mut scrolls = self.scrolls.lock();
        let unknown = || StorageError::UnknownScrollId {
            scroll_id: scroll_id.to_owned(),
        };
        let state = scrolls.get_mut(scroll_id).ok_or_else(unknown)?;
        let now = Instant::now();
        if state.expires_at <= now {
            scrolls.remove(scroll_id);
            return Err(unknown());
        }
        if let Some(ttl) = ttl {
            state.expires_at = now + ttl;
        }
        let start = state.position.min(state.entries.len());
        let end = (start + state.page_size).min(state.entries.len());
        state.position = end;
        Ok(ScrollPage {
            entries: state.entries[start..end].to_vec(),
            source: state.source.clone(),
            total: state.entries.len() as u64,
            remaining: (state.entries.len() - end) as u64,
        })
    }

    /// Drops the scrolls that contain hits of a deleted collection.
    pub fn forget_collection(&self, index: &str, collection: &str) {
        self.scrolls.lock().retain(|_, state| {
            !state
                .entries
                .iter()
                .any(|entry| entry.index == index && entry.collection == collection)
        });
    }
}
