//! The server's side of the `api` and `http` imports of one plugin.

use std::sync::{Arc, Weak};

use palisade_api::{ApiError, Protocol, Request, RequestContext, RunAs};
use palisade_plugins::{HostServices, Identity, IncomingResponse, OutgoingRequest};
use serde_json::Value;

use super::outbound;
use super::settings::PluginSettings;
use super::store::PluginStore;
use super::tcp;
use crate::state::ServerState;

/// [`HostServices`] backed by the server: API calls through the funnel with the rights of the
/// chosen identity, and outbound HTTP to the hosts the operator allowed.
#[derive(Debug)]
pub struct ServerServices {
    /// The server; weak so that a plugin kept alive by a request does not keep the state alive.
    pub state: Weak<ServerState>,
    /// The runtime that runs API calls for the blocking plugin threads.
    pub runtime: tokio::runtime::Handle,
    /// The capabilities and settings the operator granted the plugin.
    pub settings: PluginSettings,
    /// The TLS client configuration for HTTPS and TCP over TLS, built from `settings.tls`.
    pub tls: Arc<rustls::ClientConfig>,
    /// The short-lived values of every plugin.
    pub store: Arc<PluginStore>,
}

impl HostServices for ServerServices {
    fn store_put_new(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        ttl_ms: u64,
    ) -> Result<bool, palisade_plugins::ApiError> {
        let ttl = std::time::Duration::from_millis(ttl_ms);
        self.store.put_new(plugin, key, value, ttl)
    }

    fn store_take(&self, plugin: &str, key: &str) -> Option<String> {
        self.store.take(plugin, key)
    }

    fn store_get(&self, plugin: &str, key: &str) -> Option<String> {
        self.store.get(plugin, key)
    }

    fn call_api(
        &self,
        plugin: &str,
        payload: &str,
        identity: Identity,
        current: Option<&palisade_plugins::Request>,
    ) -> Result<String, palisade_plugins::ApiError> {
        let state = self
            .state
            .upgrade()
            .ok_or_else(|| to_guest(&ApiError::internal("the server is shutting down")))?;
        let request = self
            .internal_request(plugin, payload, identity, current)
            .map_err(|e| to_guest(&e))?;
        let request = Arc::new(request);
        let outcome = block_on(&self.runtime, state.execute_internal(&request));
        match outcome {
            Ok(response) => Ok(palisade_api::json_text(
                &response.result.unwrap_or(Value::Null),
            )),
            Err(error) => Err(to_guest(&error)),
        }
    }

    fn settings(&self) -> String {
        Value::Object(self.settings.settings.clone()).to_string()
    }

    fn connect_tcp(
        &self,
        plugin: &str,
        host: &str,
        port: u16,
        security: palisade_plugins::TcpSecurity,
        timeout_ms: u32,
    ) -> Result<Box<dyn palisade_plugins::TcpConnection>, palisade_plugins::ApiError> {
        tcp::connect(self, plugin, host, port, security, timeout_ms)
    }

    fn send_http(
        &self,
        plugin: &str,
        request: &OutgoingRequest,
    ) -> Result<IncomingResponse, palisade_plugins::ApiError> {
        outbound::send(
            &self.runtime,
            plugin,
            &self.settings.http,
            &self.tls,
            request,
        )
    }
}

impl ServerServices {
    fn internal_request(
        &self,
        plugin: &str,
        payload: &str,
        identity: Identity,
        current: Option<&palisade_plugins::Request>,
    ) -> Result<Request, ApiError> {
        let payload: Value = serde_json::from_str(payload).map_err(|error| {
            ApiError::invalid_argument("payload", &format!("a JSON request object ({error})"))
        })?;
        let run_as = match identity {
            Identity::Plugin => RunAs::Plugin {
                name: plugin.to_owned(),
                profile_ids: self.plugin_profiles(),
            },
            Identity::CurrentUser => {
                // The host lent `current` to this call, so its identity is the request's own.
                let current = current.ok_or_else(|| ApiError::missing_argument("current"))?;
                match current.source::<super::convert::LentSource>() {
                    Some(lent) => lent.run_as(),
                    // A request the host built itself, for a login or a server event.
                    None => RunAs::User(current.parts().user.id.clone()),
                }
            }
        };
        let mut context = RequestContext::json(Protocol::Internal, format!("plugin-{plugin}"));
        context.run_as = Some(run_as);
        Request::from_payload(payload, context)
    }

    /// Returns the profiles of the plugin's own identity: those granted, or `anonymous`.
    fn plugin_profiles(&self) -> Vec<String> {
        let granted = &self.settings.identity.profiles;
        if granted.is_empty() {
            return vec!["anonymous".to_owned()];
        }
        granted.clone()
    }
}

/// Waits for `future` from a plugin call. A call running on a worker thread of the runtime first
/// hands the worker's other tasks to another thread, because `block_on` on a worker would stall
/// them. The server runs the multi-threaded runtime, which this needs.
pub fn block_on<F: std::future::Future>(runtime: &tokio::runtime::Handle, future: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::block_in_place(|| runtime.block_on(future)),
        Err(_) => runtime.block_on(future),
    }
}

/// Converts an API error into the record a guest receives.
pub fn to_guest(error: &ApiError) -> palisade_plugins::ApiError {
    palisade_plugins::ApiError {
        status: error.status(),
        id: error.id_name().to_owned(),
        message: error.message().to_owned(),
        props: error.props().to_vec(),
    }
}
