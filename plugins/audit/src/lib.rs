//! Audit plugin: records every document write, update and delete in the collection `audit` of
//! the index `audit`, as the plugin's own identity.
//!
//! The operator must grant the plugin `index:exists`, `index:create`, `collection:create` and
//! `document:create` on that index.

mod entry;
mod settings;

use palisade_plugin_sdk::api::Api;
use palisade_plugin_sdk::{ApiError, Manifest, Plugin, Request, Value, export_plugin, json, log};

use entry::audit_entry;
use settings::Settings;

/// The collection that contains the audit entries.
const COLLECTION: &str = "audit";

/// The events that the plugin records.
const EVENTS: [&str; 3] = [
    "generic:document:afterWrite",
    "generic:document:afterUpdate",
    "generic:document:afterDelete",
];

struct Audit;

impl Plugin for Audit {
    fn init(settings: Value) -> Result<Manifest, ApiError> {
        let settings = Settings::from_init(&settings)?;
        ensure_collection(&settings.index)?;

        let manifest = Manifest::new("audit", env!("CARGO_PKG_VERSION"));
        Ok(EVENTS
            .iter()
            .fold(manifest, |manifest, event| manifest.hook(*event)))
    }

    fn hook(event: &str, request: Request, payload: Value) {
        let settings = Settings::for_calls();
        if request.index() == Some(settings.index.as_str()) {
            // The plugin's own writes trigger the same events; recording them would loop forever.
            return;
        }

        let entry = audit_entry(event, &request, &payload);
        let created = Api::as_plugin()
            .document()
            .create(&settings.index, COLLECTION, None, entry);
        if let Err(error) = created {
            log::error(&format!(
                "writing the audit entry of \"{event}\" on {}:{} failed: {error}",
                request.controller(),
                request.action()
            ));
        }
    }
}

/// Creates the audit index and collection unless they exist.
fn ensure_collection(index: &str) -> Result<(), ApiError> {
    let api = Api::as_plugin();
    api.index().ensure(index)?;

    let mappings = json!({
        "properties": {
            "event": {"type": "keyword"},
            "controller": {"type": "keyword"},
            "action": {"type": "keyword"},
            "index": {"type": "keyword"},
            "collection": {"type": "keyword"},
            "documentIds": {"type": "keyword"},
            "userId": {"type": "keyword"},
            "timestamp": {"type": "date"},
        }
    });
    api.collection().ensure(index, COLLECTION, Some(mappings))
}

export_plugin!(Audit);
