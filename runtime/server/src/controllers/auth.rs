//! The `auth` controller.
//!
//! TODO(security): only `checkToken` exists until users, tokens and strategies land. No token is
//! ever issued before then, so every non-empty token is reported invalid.

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, Request};
use serde_json::{Value, json};

use super::Controller;
use crate::state::ServerState;

/// Authentication actions.
#[derive(Debug)]
pub struct AuthController;

#[async_trait]
impl Controller for AuthController {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn actions(&self) -> &'static [&'static str] {
        &["checkToken"]
    }

    async fn handle(&self, _state: &ServerState, action: &str, request: &Request) -> ApiResult {
        match action {
            "checkToken" => check_token(request),
            _ => Err(ApiError::action_not_found(self.name(), action)),
        }
    }
}

/// Reports whether `body.token` is valid. An empty or absent token is the anonymous user, which
/// is how the SDK asks "am I anonymous?" right after connecting.
fn check_token(request: &Request) -> ApiResult {
    let token = match request.body.as_ref().and_then(|body| body.get("token")) {
        None | Some(Value::Null) => "",
        Some(Value::String(token)) => token.as_str(),
        Some(_) => return Err(ApiError::invalid_type("body.token", "string")),
    };

    if token.is_empty() {
        return Ok(json!({"valid": true, "kuid": "-1", "expiresAt": null}).into());
    }
    Ok(json!({"valid": false, "state": "Invalid token."}).into())
}
