//! The audit entry written for one event.

use palisade_plugin_sdk::environment::now_ms;
use palisade_plugin_sdk::{Document, Request, Value, json};

/// Builds the audit entry of `event`: the action, its target, the ids of the documents in
/// `payload` (or the request's `_id` when the payload names none), the user and the time.
pub fn audit_entry(event: &str, request: &Request, payload: &Value) -> Value {
    entry_at(event, request, payload, now_ms())
}

fn entry_at(event: &str, request: &Request, payload: &Value, timestamp: u64) -> Value {
    json!({
        "event": event,
        "controller": request.controller(),
        "action": request.action(),
        "index": request.index(),
        "collection": request.collection(),
        "documentIds": document_ids(request, payload),
        "userId": request.user_id(),
        "timestamp": timestamp,
    })
}

fn document_ids(request: &Request, payload: &Value) -> Vec<String> {
    let ids: Vec<String> = Document::list_from(payload)
        .into_iter()
        .filter_map(|document| document.id)
        .collect();
    if ids.is_empty() {
        return request.id().map(str::to_owned).into_iter().collect();
    }
    ids
}
