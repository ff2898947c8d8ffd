//! Benchmark plugin: a pipe on `document:afterGet` that parses the document, checks that it has a
//! `_source`, and returns it unchanged, as a pipe that inspects documents would.

use palisade_plugin_sdk::{ApiError, Manifest, Payload, Plugin, Request, Value, export_plugin};

struct PipeParse;

impl Plugin for PipeParse {
    fn init(_settings: Value) -> Result<Manifest, ApiError> {
        Ok(Manifest::new("pipe-parse", env!("CARGO_PKG_VERSION")).pipe("document:afterGet"))
    }

    fn pipe(_event: &str, _request: Request, payload: Payload) -> Result<Payload, ApiError> {
        if payload.value()?.get("_source").is_none() {
            return Err(ApiError::internal(
                "The document is missing its _source field.",
            ));
        }
        Ok(payload)
    }
}

export_plugin!(PipeParse);
