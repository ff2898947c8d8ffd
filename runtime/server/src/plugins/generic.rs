//! The `generic:document:*` events: the documents of any document action, in one shape
//! (`[{_id, _source}]`), so one pipe covers `get`, `mGet` and `search` alike.

use std::sync::Arc;

use palisade_api::{ApiError, Request};
use palisade_security::User;
use serde_json::{Map, Value, json};

use super::convert;
use super::events::{Emitted, pipe};
use super::plan::Step;

/// The family of `generic:document` events an action emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Write,
    Update,
    Get,
    Delete,
}

impl Kind {
    /// Returns the end of the event's name, as in `generic:document:beforeWrite`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Write => "Write",
            Self::Update => "Update",
            Self::Get => "Get",
            Self::Delete => "Delete",
        }
    }
}

/// The place of an action's documents in its request and in its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `_id` and `body` in the request; the document is the result.
    Single,
    /// `body.documents` or `body.ids` in the request; `result.successes`.
    Multi,
    /// No documents in the request; `result.hits`.
    Search,
    /// No documents in the request; `result.documents`.
    ByQuery,
}

impl Shape {
    /// Returns whether the request names documents, so that `before` pipes have some to change.
    pub fn has_request_documents(self) -> bool {
        matches!(self, Self::Single | Self::Multi)
    }
}

/// Returns the `generic:document` events `controller:action` emits, and where its documents are.
pub fn classify(controller: &str, action: &str) -> Option<(Kind, Shape)> {
    if controller != "document" {
        return None;
    }
    let found = match action {
        "create" | "createOrReplace" | "replace" => (Kind::Write, Shape::Single),
        "mCreate" | "mCreateOrReplace" | "mReplace" => (Kind::Write, Shape::Multi),
        "update" | "upsert" => (Kind::Update, Shape::Single),
        "mUpdate" | "mUpsert" => (Kind::Update, Shape::Multi),
        "updateByQuery" => (Kind::Update, Shape::ByQuery),
        "get" => (Kind::Get, Shape::Single),
        "mGet" => (Kind::Get, Shape::Multi),
        "search" => (Kind::Get, Shape::Search),
        "delete" => (Kind::Delete, Shape::Single),
        "mDelete" => (Kind::Delete, Shape::Multi),
        "deleteByQuery" => (Kind::Delete, Shape::ByQuery),
        _ => return None,
    };
    Some(found)
}

/// Runs the `generic:document:before*` pipes of a document action and applies the documents
/// they return to the request.
///
/// # Errors
///
/// A pipe's error, or a payload of the wrong shape.
pub async fn before(
    step: Option<&Step>,
    emitted: &mut Emitted,
    request: &mut Arc<Request>,
    user: &Arc<User>,
) -> Result<(), ApiError> {
    let Some(step) = step else {
        return Ok(());
    };
    let Some((kind, shape)) = classify(&request.controller, &request.action) else {
        return Ok(());
    };

    let documents = request_documents(request, kind, shape);
    let returned = pipe(Some(step), emitted, request, user, documents).await?;
    let Value::Array(documents) = returned else {
        return Err(invalid_documents(step));
    };
    apply_to_request(Arc::make_mut(request), kind, shape, documents);
    Ok(())
}

/// Runs the `generic:document:after*` pipes on the documents of an action's result and returns
/// the result with the documents they returned.
///
/// # Errors
///
/// A pipe's error, or a payload of the wrong shape.
pub async fn after(
    step: Option<&Step>,
    emitted: &mut Emitted,
    request: &Arc<Request>,
    user: &Arc<User>,
    result: Value,
) -> Result<Value, ApiError> {
    let Some(step) = step else {
        return Ok(result);
    };
    let Some((kind, shape)) = classify(&request.controller, &request.action) else {
        return Ok(result);
    };

    let mut result = result;
    let documents = result_documents(&mut result, shape);
    let returned = pipe(Some(step), emitted, request, user, documents).await?;
    let Value::Array(documents) = returned else {
        return Err(invalid_documents(step));
    };
    apply_to_result(&mut result, kind, shape, documents);
    Ok(result)
}

fn invalid_documents(step: &Step) -> ApiError {
    convert::invalid_payload(
        step.last_pipe_plugin(),
        &step.event,
        "an array of documents",
    )
}

fn request_documents(request: &Request, kind: Kind, shape: Shape) -> Value {
    let id = request.args.get("_id").cloned().unwrap_or(Value::Null);
    let body = request.body.clone().unwrap_or_else(|| json!({}));
    let source_of = |body: &Value| match request.action.as_str() {
        "upsert" | "mUpsert" => body.get("changes").cloned().unwrap_or(Value::Null),
        _ => body.clone(),
    };
    match (kind, shape) {
        (Kind::Write | Kind::Update, Shape::Single) => {
            json!([{"_id": id, "_source": source_of(&body)}])
        }
        (Kind::Write | Kind::Update, _) => {
            let documents = body.get("documents").and_then(Value::as_array);
            let documents = documents.into_iter().flatten().map(|document| {
                let id = document.get("_id").cloned().unwrap_or(Value::Null);
                let content = match request.action.as_str() {
                    "mUpsert" => document.get("changes").cloned().unwrap_or(Value::Null),
                    _ => document.get("body").cloned().unwrap_or(Value::Null),
                };
                json!({"_id": id, "_source": content})
            });
            Value::Array(documents.collect())
        }
        (_, Shape::Single) => json!([{"_id": id}]),
        _ => {
            let ids = body.get("ids").and_then(Value::as_array);
            let ids = ids.into_iter().flatten().map(|id| json!({"_id": id}));
            Value::Array(ids.collect())
        }
    }
}

fn apply_to_request(request: &mut Request, kind: Kind, shape: Shape, documents: Vec<Value>) {
    let upsert = matches!(request.action.as_str(), "upsert" | "mUpsert");
    match (kind, shape) {
        (Kind::Write | Kind::Update, Shape::Single) => {
            let Some(document) = documents.into_iter().next() else {
                return;
            };
            if let Some(id) = document.get("_id").filter(|id| id.is_string()) {
                request.args.insert("_id".into(), id.clone());
            }
            let source = document
                .get("_source")
                .cloned()
                .unwrap_or_else(|| json!({}));
            if upsert {
                let body = request.body.get_or_insert_with(|| json!({}));
                if let Some(body) = body.as_object_mut() {
                    body.insert("changes".into(), source);
                }
            } else {
                request.body = Some(source);
            }
        }
        (Kind::Write | Kind::Update, _) => {
            let field = if upsert { "changes" } else { "body" };
            let rebuilt: Vec<Value> = documents
                .into_iter()
                .map(|document| {
                    let mut entry = Map::new();
                    if let Some(id) = document.get("_id").filter(|id| !id.is_null()) {
                        entry.insert("_id".into(), id.clone());
                    }
                    let source = document
                        .get("_source")
                        .cloned()
                        .unwrap_or_else(|| json!({}));
                    entry.insert(field.into(), source);
                    Value::Object(entry)
                })
                .collect();
            set_body_field(request, "documents", Value::Array(rebuilt));
        }
        (_, Shape::Single) => {
            if let Some(id) = documents.first().and_then(|document| document.get("_id")) {
                request.args.insert("_id".into(), id.clone());
            }
        }
        _ => {
            let ids: Vec<Value> = documents
                .iter()
                .filter_map(|document| document.get("_id").cloned())
                .collect();
            set_body_field(request, "ids", Value::Array(ids));
        }
    }
}

fn set_body_field(request: &mut Request, field: &str, value: Value) {
    let body = request.body.get_or_insert_with(|| json!({}));
    if let Some(body) = body.as_object_mut() {
        body.insert(field.into(), value);
    }
}

/// Takes the documents out of a result, in the `[{_id, _source}]` shape.
fn result_documents(result: &mut Value, shape: Shape) -> Value {
    let listed = |result: &mut Value, field: &str| {
        result
            .get_mut(field)
            .map(Value::take)
            .unwrap_or_else(|| json!([]))
    };
    match shape {
        Shape::Single => json!([result.take()]),
        Shape::Multi => {
            let successes = listed(result, "successes");
            // `mDelete` lists the ids alone.
            let documents = successes
                .as_array()
                .into_iter()
                .flatten()
                .map(|entry| match entry {
                    Value::String(_) => json!({"_id": entry}),
                    other => other.clone(),
                });
            Value::Array(documents.collect())
        }
        Shape::Search => listed(result, "hits"),
        Shape::ByQuery => listed(result, "documents"),
    }
}

/// Puts the documents a pipe returned back into the result.
fn apply_to_result(result: &mut Value, kind: Kind, shape: Shape, documents: Vec<Value>) {
    match shape {
        Shape::Single => *result = documents.into_iter().next().unwrap_or(Value::Null),
        Shape::Multi => {
            let successes = if kind == Kind::Delete {
                documents
                    .into_iter()
                    .filter_map(|d| d.get("_id").cloned())
                    .collect()
            } else {
                documents
            };
            result["successes"] = Value::Array(successes);
        }
        Shape::Search => result["hits"] = Value::Array(documents),
        Shape::ByQuery => result["documents"] = Value::Array(documents),
    }
}

#[cfg(test)]
mod tests {
    use palisade_api::{Protocol, RequestContext};

    use super::*;

    fn request(action: &str, body: Value) -> Request {
        let mut request = Request::new(
            "document",
            action,
            RequestContext::json(Protocol::WebSocket, "c"),
        );
        request.body = Some(body);
        request
    }

    #[test]
    fn multi_writes_round_trip_through_the_generic_shape() {
        let mut request = request(
            "mCreate",
            json!({"documents": [{"_id": "a", "body": {"n": 1}}]}),
        );
        let documents = request_documents(&request, Kind::Write, Shape::Multi);
        assert_eq!(documents, json!([{"_id": "a", "_source": {"n": 1}}]));

        let changed = vec![json!({"_id": "a", "_source": {"n": 2}})];
        apply_to_request(&mut request, Kind::Write, Shape::Multi, changed);
        assert_eq!(
            request.body.unwrap()["documents"],
            json!([{"_id": "a", "body": {"n": 2}}])
        );
    }

    #[test]
    fn search_hits_and_deleted_ids_are_documents() {
        let mut result = json!({"hits": [{"_id": "a", "_source": {}}], "total": 1});
        let documents = result_documents(&mut result, Shape::Search);
        assert_eq!(documents[0]["_id"], "a");
        apply_to_result(&mut result, Kind::Get, Shape::Search, vec![]);
        assert_eq!(result["hits"], json!([]));

        let mut deleted = json!({"successes": ["a", "b"], "errors": []});
        let documents = result_documents(&mut deleted, Shape::Multi);
        assert_eq!(documents, json!([{"_id": "a"}, {"_id": "b"}]));
        let Value::Array(documents) = documents else {
            unreachable!()
        };
        apply_to_result(&mut deleted, Kind::Delete, Shape::Multi, documents);
        assert_eq!(deleted["successes"], json!(["a", "b"]));
    }
}
