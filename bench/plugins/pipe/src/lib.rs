//! Benchmark plugin: one pipe on `document:afterGet` that parses its payload and returns it
//! unchanged, so the benchmark measures what a pipe costs a request.

use palisade_plugin_sdk::{ApiError, Manifest, Plugin, Value, export_plugin};

struct Pipe;

impl Plugin for Pipe {
    fn init(_settings: Value) -> Result<Manifest, ApiError> {
        Ok(Manifest::new("pipe", env!("CARGO_PKG_VERSION")).pipe("document:afterGet"))
    }
}

export_plugin!(Pipe);
