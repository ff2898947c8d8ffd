//! Events of the request lifecycle. Pipes run in order and may change the payload or reject the
//! request. Hooks observe the final payload afterwards, off the request's path.

use std::sync::Arc;

use palisade_api::{ApiError, ApiResult, Request};
use palisade_security::User;
use serde_json::Value;

use super::convert;
use super::plan::{ActionPlan, Step};
use super::set::{Listener, PluginSet};
use crate::state::ServerState;

/// An event name or a pattern where `*` matches any run of characters, such as
/// `document:before*` or `generic:document:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventName {
    parts: Vec<String>,
}

impl EventName {
    /// Parses a name or pattern.
    pub fn new(pattern: &str) -> Self {
        Self {
            parts: pattern.split('*').map(str::to_owned).collect(),
        }
    }

    /// Returns whether `event` matches.
    pub fn matches(&self, event: &str) -> bool {
        let [first, middle @ .., last] = self.parts.as_slice() else {
            return self.parts.first().is_some_and(|only| only == event);
        };
        let Some(mut rest) = event.strip_prefix(first.as_str()) else {
            return false;
        };
        for part in middle {
            match rest.find(part.as_str()) {
                Some(position) => rest = &rest[position + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last.as_str())
    }
}

/// The events one request emitted, kept for the hooks that run after the response.
#[derive(Debug, Default)]
pub struct Emitted {
    events: Vec<(String, Value)>,
}

/// Runs the pipes of `step` on `payload` and returns the payload for the next step. Nothing is
/// serialized when only hooks listen, and nothing at all happens for `None`, an event nothing
/// listens to.
///
/// # Errors
///
/// The error a pipe returned, unchanged, or the failure of a plugin call.
pub async fn pipe(
    step: Option<&Step>,
    emitted: &mut Emitted,
    request: &Arc<Request>,
    user: &Arc<User>,
    payload: Value,
) -> Result<Value, ApiError> {
    let Some(step) = step else {
        return Ok(payload);
    };
    let mut payload = payload;
    if !step.pipes.is_empty() {
        // The component call is a large part of a pipe's cost: 0.9 µs with warm caches, 9.7 µs
        // with 16 MiB written between calls (BENCHMARKS.md, Plugins).
        let record = convert::lent_request(request, user);
        for listener in &step.pipes {
            payload = run_pipe(listener, &step.event, &record, payload).await?;
        }
    }
    if step.has_hooks {
        emitted.events.push((step.event.clone(), payload.clone()));
    }
    Ok(payload)
}

/// Calls one pipe and returns the payload it returned.
async fn run_pipe(
    listener: &Listener,
    event: &str,
    record: &Arc<palisade_plugins::Request>,
    payload: Value,
) -> Result<Value, ApiError> {
    let plugin = Arc::clone(&listener.plugin);
    let (event_name, record) = (event.to_owned(), Arc::clone(record));
    let text = palisade_api::json_text(&payload);
    let (returned, text) = super::run_blocking(move || {
        let returned = plugin.plugin.run_pipe(&event_name, &record, &text);
        (returned, text)
    })
    .await?;
    let returned = returned
        .map_err(|error| convert::host_error(&error))?
        .map_err(convert::guest_error)?;

    // Most pipes return the payload they were given, and parsing it again would only copy it.
    if returned == text {
        return Ok(payload);
    }
    serde_json::from_str(&returned)
        .map_err(|_| convert::invalid_payload(&listener.plugin.name, event, "JSON"))
}

/// Runs the hooks of every emitted event on a background task, in emission order. Their
/// failures are logged and never reach the client.
pub fn run_hooks(set: Arc<PluginSet>, emitted: Emitted, request: &Arc<Request>, user: &Arc<User>) {
    if emitted.events.is_empty() {
        return;
    }
    let record = convert::lent_request(request, user);
    tokio::task::spawn_blocking(move || {
        for (event, payload) in emitted.events {
            observe(&set, &event, &record, &palisade_api::json_text(&payload));
        }
    });
}

/// Calls every hook of `event` in order, logging the failures.
fn observe(set: &PluginSet, event: &str, record: &Arc<palisade_plugins::Request>, payload: &str) {
    for listener in set.hooks_for(event) {
        if let Err(error) = listener.plugin.plugin.observe(event, record, payload) {
            tracing::warn!(plugin = %listener.plugin.name, %event, %error, "hook failed");
        }
    }
}

/// Runs the hooks of a server event, such as `core:kuzzleStart`, on a blocking thread. The
/// request the hooks receive is an internal `core:<event>` request of the anonymous user. Returns
/// `None` when no hook listens.
pub fn run_server_hooks(
    set: Arc<PluginSet>,
    event: &str,
    payload: Value,
) -> Option<tokio::task::JoinHandle<()>> {
    set.hooks_for(event).next()?;
    let context = palisade_api::RequestContext::json(palisade_api::Protocol::Internal, "server");
    let request = Request::new("core", event, context);
    let user = palisade_plugins::User {
        id: palisade_security::ANONYMOUS_KUID.to_owned(),
        profile_ids: Vec::new(),
    };
    let record = Arc::new(palisade_plugins::Request::new(convert::plugin_request(
        &request, user,
    )));
    let (event, text) = (event.to_owned(), payload.to_string());
    Some(tokio::task::spawn_blocking(move || {
        observe(&set, &event, &record, &text);
    }))
}

/// Runs a request with its lifecycle events: `request:onAuthorized`, `<controller>:before<Action>`,
/// the `generic:document:before*` events, the action, then the `after`, `generic:document:after*`
/// and `request:onSuccess` events, or `<controller>:error<Action>` and `request:onError`.
pub async fn run_request(
    state: &ServerState,
    set: Arc<PluginSet>,
    request: &Arc<Request>,
    user: &Arc<User>,
) -> ApiResult {
    let plan = set.plan(&request.controller, &request.action);
    if plan.is_empty() {
        return super::dispatch(state, request, user).await;
    }
    let mut emitted = Emitted::default();
    let outcome = run_with_events(state, &plan, &mut emitted, request, user).await;
    run_hooks(set, emitted, request, user);
    outcome
}

async fn run_with_events(
    state: &ServerState,
    plan: &ActionPlan,
    emitted: &mut Emitted,
    original: &Arc<Request>,
    user: &Arc<User>,
) -> ApiResult {
    // A request is copied only when a step with pipes applies their payload to it.
    let mut request = Arc::clone(original);
    let outcome = async {
        for step in [&plan.on_authorized, &plan.before].into_iter().flatten() {
            let payload = convert::request_payload(&request);
            let payload = pipe(Some(step), emitted, &request, user, payload).await?;
            if step.pipes.is_empty() {
                continue;
            }
            let plugin = step.last_pipe_plugin();
            let changed = Arc::make_mut(&mut request);
            convert::apply_request_payload(plugin, &step.event, changed, payload)?;
        }
        let generic = plan.generic_before.as_ref();
        super::generic::before(generic, emitted, &mut request, user).await?;
        super::dispatch(state, &request, user).await
    }
    .await;

    match outcome {
        Ok(response) => after_success(plan, emitted, &request, user, response).await,
        Err(error) => Err(after_error(plan, emitted, &request, user, error).await),
    }
}

async fn after_success(
    plan: &ActionPlan,
    emitted: &mut Emitted,
    request: &Arc<Request>,
    user: &Arc<User>,
    mut response: palisade_api::Response,
) -> ApiResult {
    let Some(mut result) = response.result.take() else {
        return Ok(response);
    };
    result = pipe(plan.after.as_ref(), emitted, request, user, result).await?;
    let generic = plan.generic_after.as_ref();
    result = super::generic::after(generic, emitted, request, user, result).await?;
    result = pipe(plan.on_success.as_ref(), emitted, request, user, result).await?;
    response.result = Some(result);
    Ok(response)
}

async fn after_error(
    plan: &ActionPlan,
    emitted: &mut Emitted,
    request: &Arc<Request>,
    user: &Arc<User>,
    error: ApiError,
) -> ApiError {
    let mut error = error;
    for step in [&plan.error, &plan.on_error].into_iter().flatten() {
        match pipe(Some(step), emitted, request, user, error.to_json()).await {
            Ok(payload) => {
                if let Some(changed) = convert::error_from_json(&payload) {
                    error = changed;
                }
            }
            Err(pipe_error) => error = pipe_error,
        }
    }
    error
}

/// Returns the profiles of the request's user, given to plugins with the request.
pub async fn user_profiles(state: &ServerState, request: &Request) -> Vec<String> {
    let Some(kuid) = request.context.kuid() else {
        return Vec::new();
    };
    match state.security.security.get_user(kuid).await {
        Ok(user) => user.profile_ids.clone(),
        Err(_) => match &request.context.run_as {
            Some(palisade_api::RunAs::Plugin { profile_ids, .. }) => profile_ids.clone(),
            _ => Vec::new(),
        },
    }
}

/// `create` becomes `Create`, as in `document:beforeCreate`.
pub fn capitalized(action: &str) -> String {
    let mut chars = action.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_any_run_of_characters() {
        let pattern = EventName::new("document:before*");
        assert!(pattern.matches("document:beforeCreate"));
        assert!(!pattern.matches("document:afterCreate"));
        assert!(EventName::new("*").matches("request:onSuccess"));
        assert!(EventName::new("generic:document:*").matches("generic:document:afterGet"));
        assert!(EventName::new("*:after*").matches("bulk:afterImport"));
        assert!(!EventName::new("*:after*").matches("bulk:beforeImport"));
        assert!(EventName::new("a:b").matches("a:b"));
        assert!(!EventName::new("a:b").matches("a:bc"));
        assert!(!EventName::new("a*a").matches("a"));
    }

    #[test]
    fn actions_are_capitalized_in_event_names() {
        assert_eq!(capitalized("mCreate"), "MCreate");
        assert_eq!(capitalized("get"), "Get");
    }
}
