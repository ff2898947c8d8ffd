//! Generates the OpenAPI 3 document of the HTTP API from the route table.

use serde_json::{Map, Value, json};

use crate::controllers::server::KUZZLE_API_VERSION;
use crate::state::ServerState;

/// Builds the OpenAPI document: one operation per route of every implemented action.
pub fn document(state: &ServerState) -> Value {
    let mut paths: Map<String, Value> = Map::new();

    for route in state.router.table().routes() {
        if !state
            .controllers
            .has_action(&route.controller, &route.action)
        {
            continue;
        }
        let path = route
            .path
            .split('/')
            .map(|segment| match segment.strip_prefix(':') {
                Some(name) => format!("{{{name}}}"),
                None => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };

        let parameters: Vec<Value> = route
            .params()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let operation = json!({
            "operationId": format!("{}:{}:{}:{}", route.controller, route.action, route.verb, route.path),
            "summary": format!("{}:{}", route.controller, route.action),
            "tags": [route.controller],
            "deprecated": route.deprecated_since.is_some(),
            "parameters": parameters,
            "responses": {
                "200": {"description": "The response envelope", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}}},
                "default": {"description": "An error in the response envelope", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}}}
            }
        });

        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[route.verb.to_ascii_lowercase()] = operation;
    }

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Palisade API",
            "description": format!("Wire-compatible with the Kuzzle {KUZZLE_API_VERSION} API."),
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": paths,
        "components": {"schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"}, "status": {"type": "integer"},
                    "id": {"type": "string"}, "code": {"type": "integer"},
                    "props": {"type": "array", "items": {"type": "string"}}
                }
            },
            "Response": {
                "type": "object",
                "properties": {
                    "requestId": {"type": "string"}, "status": {"type": "integer"},
                    "error": {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"type": "null"}]},
                    "result": {}, "controller": {"type": "string"}, "action": {"type": "string"},
                    "volatile": {"type": ["object", "null"]}, "node": {"type": "string"}
                }
            }
        }}
    })
}
