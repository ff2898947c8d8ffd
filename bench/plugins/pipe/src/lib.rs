//! Benchmark plugin: one pipe on `document:afterGet` that returns its payload unchanged, so the
//! benchmark measures what a pipe costs a request. In the collection `parsed` the pipe also parses
//! the document and checks that it has a `_source`, as a pipe that inspects documents would.

use palisade_plugin_sdk::{ApiError, Manifest, Payload, Plugin, Request, Value, export_plugin};

struct Pipe;

impl Plugin for Pipe {
    fn init(_settings: Value) -> Result<Manifest, ApiError> {
        Ok(Manifest::new("pipe", env!("CARGO_PKG_VERSION")).pipe("document:afterGet"))
    }

    fn pipe(_event: &str, request: Request, payload: Payload) -> Result<Payload, ApiError> {
        if request.collection() == Some("parsed") && payload.value()?.get("_source").is_none() {
            return Err(ApiError::internal("The document is missing its _source field."));
        }
        Ok(payload)
    }
}

export_plugin!(Pipe);
