//! Watching the plugins folder: a scan every interval compares each `*.wasm` file's size and
//! modification time with the previous scan.
//!
//! A file must look the same on two scans in a row before it loads, so a file still being
//! copied is not compiled half-written. Writing the new version beside the folder and renaming
//! it in is still the safe way to replace a plugin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::state::ServerState;

/// A file's size and modification time.
type Fingerprint = (u64, Option<SystemTime>);

/// A change found by a scan.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// A new or changed file that looked the same on two scans.
    Changed(PathBuf),
    /// A file that was there and is gone.
    Removed(PathBuf),
}

/// The state of the folder at the previous scans.
#[derive(Debug, Default)]
pub struct FolderState {
    /// Fingerprints of the files already handed out as changes.
    settled: BTreeMap<PathBuf, Fingerprint>,
    /// Fingerprints seen once, waiting for the next scan to confirm them.
    pending: BTreeMap<PathBuf, Fingerprint>,
    /// SHA-256 of the content in service for each file.
    loaded: BTreeMap<PathBuf, [u8; 32]>,
    /// Whether the first scan happened; it loads files without waiting for a second look.
    started: bool,
}

impl FolderState {
    /// Lists the changes since the previous scan.
    pub fn changes(&mut self, folder: &Path) -> Vec<Change> {
        let current = list_plugins(folder);
        let mut changes = Vec::new();
        for (path, fingerprint) in &current {
            if self.settled.get(path) == Some(fingerprint) {
                continue;
            }
            let confirmed = self.pending.get(path) == Some(fingerprint);
            if confirmed || !self.started {
                self.pending.remove(path);
                self.settled.insert(path.clone(), *fingerprint);
                changes.push(Change::Changed(path.clone()));
            } else {
                self.pending.insert(path.clone(), *fingerprint);
            }
        }

        let removed: Vec<PathBuf> = self
            .settled
            .keys()
            .filter(|path| !current.contains_key(*path))
            .cloned()
            .collect();
        for path in removed {
            self.settled.remove(&path);
            self.loaded.remove(&path);
            changes.push(Change::Removed(path));
        }
        self.pending.retain(|path, _| current.contains_key(path));
        self.started = true;
        changes
    }

    /// Returns whether `bytes` is the content already in service for `path`, as after a `touch`.
    pub fn has_same_content(&self, path: &Path, bytes: &[u8]) -> bool {
        self.loaded.get(path) == Some(&Sha256::digest(bytes).into())
    }

    /// Records the content now in service for `path`.
    pub fn record_content(&mut self, path: &Path, bytes: &[u8]) {
        self.loaded
            .insert(path.to_owned(), Sha256::digest(bytes).into());
    }
}

/// Lists the `*.wasm` files of the folder with their fingerprints. A missing folder has none.
fn list_plugins(folder: &Path) -> BTreeMap<PathBuf, Fingerprint> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "wasm"))
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            metadata.is_file().then(|| {
                let fingerprint = (metadata.len(), metadata.modified().ok());
                (entry.path(), fingerprint)
            })
        })
        .collect()
}

/// Scans the folder every `interval` until the server state is dropped.
pub fn spawn(state: Weak<ServerState>, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(state) = state.upgrade() else {
                return;
            };
            state.plugins.scan(&state).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_change_loads_once_stable() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.wasm");
        std::fs::write(&path, b"one").unwrap();
        std::fs::write(folder.path().join("a.toml"), b"").unwrap();
        let mut state = FolderState::default();
        assert_eq!(
            state.changes(folder.path()),
            [Change::Changed(path.clone())]
        );
        assert!(state.changes(folder.path()).is_empty());

        std::fs::write(&path, b"two, longer").unwrap();
        assert!(state.changes(folder.path()).is_empty(), "first sight waits");
        assert_eq!(
            state.changes(folder.path()),
            [Change::Changed(path.clone())]
        );

        std::fs::remove_file(&path).unwrap();
        assert_eq!(state.changes(folder.path()), [Change::Removed(path)]);
    }
}
