//! Helpers shared by the benchmark programs.

use std::path::PathBuf;

/// Returns the folder of the plugins built from source: `PALISADE_PLUGINS_BUILD_DIR`, or
/// `plugins` in the Cargo target folder, where `scripts/build-plugins.sh` puts them by default.
pub fn built_plugins() -> PathBuf {
    if let Some(folder) = std::env::var_os("PALISADE_PLUGINS_BUILD_DIR") {
        return PathBuf::from(folder);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("plugins")
}
