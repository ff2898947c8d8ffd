//! Benchmark plugin: a pipe on `document:afterGet` that returns its payload unchanged without
//! reading it or the request, so the benchmark measures what the pipe mechanism costs a request.

use palisade_plugin_sdk::{ApiError, Manifest, Plugin, Value, export_plugin};

struct Pipe;

impl Plugin for Pipe {
    fn init(_settings: Value) -> Result<Manifest, ApiError> {
        Ok(Manifest::new("pipe", env!("CARGO_PKG_VERSION")).pipe("document:afterGet"))
    }
}

export_plugin!(Pipe);
