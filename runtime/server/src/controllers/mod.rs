//! Native API controllers. Each one is a table of actions over the shared [`ServerState`].

mod admin;
mod admin_dump;
mod api_keys;
mod auth;
mod bulk;
mod collection;
mod cookie;
mod credentials;
mod document;
mod document_export;
mod document_multi;
mod document_query;
mod index;
pub mod realtime;
mod roles;
mod security;
pub mod server;
pub(crate) mod store_args;
mod users;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use palisade_api::{ApiError, ApiResult, Request};

use crate::state::ServerState;

/// A controller: a name, its actions, and the code that runs them.
#[async_trait]
pub trait Controller: Send + Sync + std::fmt::Debug {
    /// The controller name used in requests.
    fn name(&self) -> &'static str;

    /// Every action this controller implements.
    fn actions(&self) -> &'static [&'static str];

    /// Runs one action. The dispatcher only calls it with a name from [`Controller::actions`].
    async fn handle(&self, state: &ServerState, action: &str, request: &Request) -> ApiResult;
}

/// The controllers known to the server, by name.
#[derive(Debug)]
pub struct Controllers {
    by_name: BTreeMap<&'static str, Arc<dyn Controller>>,
}

impl Controllers {
    /// The native controllers.
    pub fn native() -> Self {
        let list: [Arc<dyn Controller>; 9] = [
            Arc::new(admin::AdminController),
            Arc::new(server::ServerController),
            Arc::new(auth::AuthController),
            Arc::new(security::SecurityController),
            Arc::new(index::IndexController),
            Arc::new(collection::CollectionController),
            Arc::new(document::DocumentController),
            Arc::new(bulk::BulkController),
            Arc::new(realtime::RealtimeController),
        ];
        Self {
            by_name: list.into_iter().map(|c| (c.name(), c)).collect(),
        }
    }

    /// Every controller, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Controller>> {
        self.by_name.values()
    }

    /// Returns whether a native controller has this name.
    pub fn has_controller(&self, controller: &str) -> bool {
        self.by_name.contains_key(controller)
    }

    /// Whether the native `controller:action` exists.
    pub fn has_action(&self, controller: &str, action: &str) -> bool {
        self.by_name
            .get(controller)
            .is_some_and(|c| c.actions().contains(&action))
    }

    /// Runs a request's action on its controller.
    ///
    /// # Errors
    ///
    /// `api.process.controller_not_found` or `action_not_found`, or the action's own error.
    pub async fn dispatch(&self, state: &ServerState, request: &Request) -> ApiResult {
        let controller = self
            .by_name
            .get(request.controller.as_str())
            .ok_or_else(|| ApiError::controller_not_found(&request.controller))?;
        if !controller.actions().contains(&request.action.as_str()) {
            return Err(ApiError::action_not_found(
                &request.controller,
                &request.action,
            ));
        }
        controller.handle(state, &request.action, request).await
    }
}
