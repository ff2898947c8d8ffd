//! Runs the backend conformance suite against the embedded engine.

use std::sync::Arc;

use palisade_storage::conformance::Fixture;
use palisade_storage::{EmbeddedEngine, EngineConfig};

async fn embedded() -> Fixture {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let config = EngineConfig::new(folder.path());
    let engine = tokio::task::spawn_blocking(move || EmbeddedEngine::open(config))
        .await
        .expect("the open task")
        .expect("the engine opens");
    Fixture {
        store: Arc::new(engine),
        guard: Box::new(folder),
    }
}

palisade_storage::conformance_tests!(embedded);
