//! On-disk cache of compiled components.
//!
//! Each entry is the output of `Component::serialize`, named by the SHA-256 of the engine's
//! compatibility hash followed by the component's bytes. An engine with another configuration or
//! another wasmtime version therefore never reads an entry it did not write.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Feeds `Hash` output into SHA-256, so the key does not depend on std's unstable `DefaultHasher`.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Only the SHA-256 digest is used; `finish` is never called.
        0
    }
}

/// Returns the path of the cache entry for `bytes` compiled by `engine`.
pub(crate) fn entry_path(folder: &Path, engine: &Engine, bytes: &[u8]) -> PathBuf {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let mut digest = hasher.0;
    digest.update(bytes);
    folder.join(format!("{}.cwasm", hex::encode(digest.finalize())))
}

/// Loads a compiled component from the cache, or returns `None` if the entry is missing or
/// unusable. An unusable entry is logged and later overwritten by [`store`].
pub(crate) fn load(engine: &Engine, path: &Path, plugin: &str) -> Option<Component> {
    let serialized = match std::fs::read(path) {
        Ok(serialized) => serialized,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(plugin, path = %path.display(), %error, "reading the compiled-code cache failed");
            return None;
        }
    };
    // SAFETY: `Component::deserialize` runs native code from the bytes without validating it.
    // The bytes were written by `store` from `Component::serialize` of an engine with the same
    // compatibility hash, because the file name contains that hash. Wasmtime also checks the
    // version and configuration recorded in the header. Anyone who can write to the folder can
    // run code in this process, so the embedder must keep it private.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize(engine, &serialized) };
    match loaded {
        Ok(component) => Some(component),
        Err(error) => {
            tracing::warn!(plugin, path = %path.display(), error = %format!("{error:#}"), "ignoring an unusable compiled-code cache entry");
            None
        }
    }
}

/// Writes a compiled component to the cache. Failures are logged and otherwise ignored, because
/// the cache only saves compile time.
pub(crate) fn store(component: &Component, path: &Path, plugin: &str) {
    if let Err(error) = try_store(component, path) {
        tracing::warn!(plugin, path = %path.display(), %error, "writing the compiled-code cache failed");
    }
}

fn try_store(component: &Component, path: &Path) -> std::io::Result<()> {
    let serialized = component
        .serialize()
        .map_err(|error| std::io::Error::other(format!("{error:#}")))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    // Write to a temporary file and rename it, so a concurrent reader never sees a partial entry.
    let mut temporary = tempfile_in(folder)?;
    temporary.1.write_all(&serialized)?;
    temporary.1.sync_all()?;
    drop(temporary.1);
    std::fs::rename(&temporary.0, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary.0);
    })
}

/// Creates a new uniquely named file in `folder`.
fn tempfile_in(folder: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|error| std::io::Error::other(error.to_string()))?;
    let path = folder.join(format!(".tmp-{}", hex::encode(random)));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}
