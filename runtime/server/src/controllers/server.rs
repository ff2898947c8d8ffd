//! The `server` controller: information about this node and its API.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, Request, Response};
use serde_json::{Map, Value, json};

use super::Controller;
use crate::openapi;
use crate::plugins::kebab_case;
use crate::state::ServerState;

/// The Kuzzle API version this server is wire-compatible with.
pub const KUZZLE_API_VERSION: &str = "2.56.0";

/// Server information actions.
#[derive(Debug)]
pub struct ServerController;

#[async_trait]
impl Controller for ServerController {
    fn name(&self) -> &'static str {
        "server"
    }

    fn actions(&self) -> &'static [&'static str] {
        &[
            "adminExists",
            "capabilities",
            "getConfig",
            "healthCheck",
            "info",
            "metrics",
            "now",
            "openapi",
            "publicApi",
        ]
    }

    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "adminExists" => admin_exists(state).await,
            "capabilities" => Ok(capabilities(state).into()),
            "getConfig" => get_config(state),
            "healthCheck" => Ok(health_check(state).into()),
            "info" => Ok(info(state).into()),
            "metrics" => Ok(metrics(state)),
            "now" => Ok(json!({"now": now_ms()}).into()),
            "openapi" => Ok(Response::raw_json(openapi::document(state))),
            "publicApi" => Ok(public_api(state).into()),
            _ => Err(ApiError::action_not_found(&request.controller, action)),
        }
    }
}

async fn admin_exists(state: &ServerState) -> ApiResult {
    let exists = state
        .security
        .security
        .admin_exists()
        .await
        .map_err(crate::errors::from_security)?;
    Ok(json!({"exists": exists}).into())
}

/// The API definition the SDK's HTTP client reads to build its routes:
/// `{controller: {action: {controller, action, http: [{verb, path, url}]}}}`.
pub fn public_api(state: &ServerState) -> Value {
    let mut api = Map::new();
    for controller in state.controllers.iter() {
        let mut actions = Map::new();
        for action in controller.actions() {
            let mut definition = Map::new();
            definition.insert("controller".into(), json!(controller.name()));
            definition.insert("action".into(), json!(action));

            let routes: Vec<Value> = state
                .router
                .table()
                .routes_of(controller.name(), action)
                .map(|route| json!({"verb": route.verb, "path": route.path, "url": route.path}))
                .collect();
            if !routes.is_empty() {
                definition.insert("http".into(), Value::Array(routes));
            }
            actions.insert((*action).into(), Value::Object(definition));
        }
        api.insert(controller.name().into(), Value::Object(actions));
    }
    add_plugin_controllers(state, &mut api);
    Value::Object(api)
}

/// Adds the plugins' controllers, each action with its default route
/// `/_/<controller>/<action>` (kebab-case) and its custom routes.
fn add_plugin_controllers(state: &ServerState, api: &mut Map<String, Value>) {
    let set = state.plugins.snapshot();
    for (controller, actions) in set.controllers() {
        let mut definitions = Map::new();
        for action in actions {
            let default_path = format!("/_/{}/{}", kebab_case(controller), kebab_case(action));
            let mut routes =
                vec![json!({"verb": "GET", "path": default_path, "url": default_path})];
            if let Some(router) = set.router() {
                let custom = router.table().routes_of(controller, action);
                routes
                    .extend(custom.map(|r| json!({"verb": r.verb, "path": r.path, "url": r.path})));
            }
            definitions.insert(
                action.into(),
                json!({"controller": controller, "action": action, "http": routes}),
            );
        }
        api.insert(controller.into(), Value::Object(definitions));
    }
}

/// Builds the result of `server:info`.
pub(crate) fn info(state: &ServerState) -> Value {
    json!({
        "serverInfo": {
            "kuzzle": {
                "version": KUZZLE_API_VERSION,
                "palisade": env!("CARGO_PKG_VERSION"),
                "nodeId": state.node_id,
                "uptime": format!("{}s", state.started_at.elapsed().as_secs()),
                "api": {"routes": public_api(state)},
                "plugins": state.plugins.describe(),
                "system": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)},
            },
            "services": {},
        }
    })
}

fn capabilities(state: &ServerState) -> Value {
    json!({
        "version": KUZZLE_API_VERSION,
        "palisade": env!("CARGO_PKG_VERSION"),
        "limits": state.config.limits,
        "api": {"routes": public_api(state)},
        "plugins": state.plugins.describe(),
    })
}

fn health_check(state: &ServerState) -> Value {
    let status = if state.funnel.is_overloaded() {
        "yellow"
    } else {
        "green"
    };
    json!({"status": status, "services": {}})
}

fn get_config(state: &ServerState) -> ApiResult {
    Ok(redacted_config(state)?.into())
}

/// Returns the effective configuration without its secrets.
pub(crate) fn redacted_config(state: &ServerState) -> Result<Value, ApiError> {
    let mut config = serde_json::to_value(&state.config).map_err(ApiError::internal)?;
    redact_secrets(&mut config);
    Ok(config)
}

/// Removes every value whose key names a secret, at any depth, so `getConfig` does not return it.
fn redact_secrets(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.retain(|key, _| {
                let key = key.to_ascii_lowercase();
                !(key.contains("secret") || key.contains("password") || key.contains("seed"))
            });
            object.values_mut().for_each(redact_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

fn metrics(state: &ServerState) -> Response {
    let text = state.metrics.render(state.funnel.waiting());
    Response::raw(
        "text/plain; version=0.0.4; charset=utf-8",
        text.into_bytes(),
    )
}

fn now_ms() -> u64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_at_any_depth() {
        let mut config = json!({
            "security": {"authToken": {"secret": "s", "expiresIn": "1h"}},
            "list": [{"password": "p", "user": "u"}],
            "internal": {"hash": {"seed": "x"}}
        });
        redact_secrets(&mut config);
        assert!(config["security"]["authToken"].get("secret").is_none());
        assert_eq!(config["security"]["authToken"]["expiresIn"], "1h");
        assert!(config["list"][0].get("password").is_none());
        assert!(config["internal"]["hash"].get("seed").is_none());
    }
}
