//! Events of the request lifecycle. Pipes run in order and may change the payload or reject the
//! request. Hooks observe the final payload afterwards, off the request's path.

use std::borrow::Cow;
use std::sync::Arc;

use palisade_api::{ApiError, ApiResult, Request};
use serde_json::Value;

use super::convert;
use super::set::PluginSet;
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

/// Runs the pipes of `event` on `payload` and returns the payload for the next step. Nothing is
/// serialized when no plugin listens.
///
/// # Errors
///
/// The error a pipe returned, unchanged, or the failure of a plugin call.
pub async fn pipe(
    set: &Arc<PluginSet>,
    emitted: &mut Emitted,
    event: &str,
    request: &Request,
    profile_ids: &[String],
    payload: Value,
) -> Result<Value, ApiError> {
    if !set.listens_to(event) {
        return Ok(payload);
    }
    let mut payload = payload;
    if set.pipes_for(event).next().is_some() {
        // TODO(plugins-events): a pass-through pipe adds about 14 µs to `document:get` at p50,
        // against a target of 10 (BENCHMARKS.md). The call takes 0.85 µs with warm caches but
        // about 8 µs with the cold caches it meets here, most of it on wasmtime's side. The event
        // steps around it take about 4 µs, and this record and the payload's text 2 to 4.
        let record = Arc::new(convert::plugin_request(request, profile_ids.to_vec()));
        for listener in set.pipes_for(event) {
            let plugin = Arc::clone(&listener.plugin);
            let event_name = event.to_owned();
            let record = Arc::clone(&record);
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
            if returned != text {
                payload = serde_json::from_str(&returned)
                    .map_err(|_| convert::invalid_payload(&listener.plugin.name, event, "JSON"))?;
            }
        }
    }
    if set.hooks_for(event).next().is_some() {
        emitted.events.push((event.to_owned(), payload.clone()));
    }
    Ok(payload)
}

/// Runs the hooks of every emitted event on a background task, in emission order. Their
/// failures are logged and never reach the client.
pub fn run_hooks(set: Arc<PluginSet>, emitted: Emitted, request: &Request, profile_ids: &[String]) {
    if emitted.events.is_empty() {
        return;
    }
    let record = Arc::new(convert::plugin_request(request, profile_ids.to_vec()));
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
    let record = Arc::new(convert::plugin_request(&request, Vec::new()));
    let (event, text) = (event.to_owned(), payload.to_string());
    Some(tokio::task::spawn_blocking(move || {
        observe(&set, &event, &record, &text);
    }))
}

/// Runs a request with its lifecycle events: `request:onAuthorized`, `<controller>:before<Action>`,
/// the `generic:document:before*` events, the action, then the `after`, `generic:document:after*`
/// and `request:onSuccess` events, or `<controller>:error<Action>` and `request:onError`.
pub async fn run_request(state: &ServerState, set: Arc<PluginSet>, request: &Request) -> ApiResult {
    let profile_ids = user_profiles(state, request).await;
    let mut emitted = Emitted::default();
    let outcome = run_with_events(state, &set, &mut emitted, request, &profile_ids).await;
    run_hooks(set, emitted, request, &profile_ids);
    outcome
}

async fn run_with_events(
    state: &ServerState,
    set: &Arc<PluginSet>,
    emitted: &mut Emitted,
    original: &Request,
    profile_ids: &[String],
) -> ApiResult {
    let (controller, action) = (original.controller.as_str(), original.action.as_str());
    // Only a `before` pipe changes the request, so most requests run without a copy of it.
    let mut request = Cow::Borrowed(original);
    let before = [
        "request:onAuthorized".to_owned(),
        format!("{controller}:before{}", capitalized(action)),
    ];
    let outcome = async {
        for event in &before {
            if set.listens_to(event) {
                let payload = convert::request_payload(&request);
                let payload = pipe(set, emitted, event, &request, profile_ids, payload).await?;
                let plugin = first_pipe_name(set, event);
                convert::apply_request_payload(&plugin, event, request.to_mut(), payload)?;
            }
        }
        super::generic::before(set, emitted, &mut request, profile_ids).await?;
        super::dispatch(state, &request).await
    }
    .await;

    match outcome {
        Ok(response) => after_success(set, emitted, &request, profile_ids, response).await,
        Err(error) => Err(after_error(set, emitted, &request, profile_ids, error).await),
    }
}

async fn after_success(
    set: &Arc<PluginSet>,
    emitted: &mut Emitted,
    request: &Request,
    profile_ids: &[String],
    mut response: palisade_api::Response,
) -> ApiResult {
    let (controller, action) = (request.controller.as_str(), request.action.as_str());
    let Some(mut result) = response.result.take() else {
        return Ok(response);
    };
    let event = format!("{controller}:after{}", capitalized(action));
    result = pipe(set, emitted, &event, request, profile_ids, result).await?;
    result = super::generic::after(set, emitted, request, profile_ids, result).await?;
    result = pipe(
        set,
        emitted,
        "request:onSuccess",
        request,
        profile_ids,
        result,
    )
    .await?;
    response.result = Some(result);
    Ok(response)
}

async fn after_error(
    set: &Arc<PluginSet>,
    emitted: &mut Emitted,
    request: &Request,
    profile_ids: &[String],
    error: ApiError,
) -> ApiError {
    let (controller, action) = (request.controller.as_str(), request.action.as_str());
    let mut error = error;
    for event in [
        format!("{controller}:error{}", capitalized(action)),
        "request:onError".into(),
    ] {
        if !set.listens_to(&event) {
            continue;
        }
        match pipe(set, emitted, &event, request, profile_ids, error.to_json()).await {
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

fn first_pipe_name(set: &PluginSet, event: &str) -> String {
    set.pipes_for(event)
        .last()
        .map(|listener| listener.plugin.name.clone())
        .unwrap_or_default()
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
