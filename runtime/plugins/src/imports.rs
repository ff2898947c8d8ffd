//! The host functions that plugins import: `log`, `environment`, `api`, `http` and `store`.
//! `tcp` is in its own module.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use wasmtime::component::Resource;

use crate::bindings::palisade::plugin::{api, environment, http, log, store, types};
use crate::host::InstanceState;
use crate::{
    ApiError, Identity, IncomingResponse, Level, OutgoingRequest, Request, RequestHandle,
    TcpConnection, TcpSecurity,
};

/// Error id of a capability that the operator did not grant to a plugin. It is Palisade's own id:
/// Kuzzle's error catalogue has no equivalent.
pub const NOT_GRANTED_ID: &str = "plugin.runtime.capability_not_granted";

/// Largest `environment.random-bytes` request, in bytes. A larger request traps the guest instead
/// of making the host allocate up to 4 GiB.
pub const MAX_RANDOM_BYTES: u32 = 1024 * 1024;

/// The server's side of the `api`, `http`, `tcp` and `store` imports.
///
/// The default methods reject each call with a 403 `api-error` (or find no stored value),
/// so a plugin has no capability that its operator did not grant. The guest receives that error
/// as a value and can handle it.
///
/// NOTE: the methods run on the calling thread while the guest waits, and the epoch deadline
/// interrupts the guest only after they return. Implementations must bound their own run time.
pub trait HostServices: Send + Sync + std::fmt::Debug {
    /// Runs an API request (a JSON request object) for `plugin` and returns its result as JSON.
    /// `current` is the request the host lent to the calling guest, when the guest passed it
    /// back to act as its user: a guest cannot name any other request.
    fn call_api(
        &self,
        plugin: &str,
        payload: &str,
        identity: Identity,
        current: Option<&Request>,
    ) -> Result<String, ApiError> {
        let _ = (payload, identity, current);
        Err(not_granted(plugin, "api.call"))
    }

    /// Returns the plugin's settings as a JSON object, the value its `init` received.
    fn settings(&self) -> String {
        "{}".to_owned()
    }

    /// Sends an outbound HTTP request for `plugin`.
    fn send_http(
        &self,
        plugin: &str,
        request: &OutgoingRequest,
    ) -> Result<IncomingResponse, ApiError> {
        let _ = request;
        Err(not_granted(plugin, "http.send"))
    }

    /// Opens an outbound TCP connection for `plugin`.
    fn connect_tcp(
        &self,
        plugin: &str,
        host: &str,
        port: u16,
        security: TcpSecurity,
        timeout_ms: u32,
    ) -> Result<Box<dyn TcpConnection>, ApiError> {
        let _ = (host, port, security, timeout_ms);
        Err(not_granted(plugin, "tcp.connect"))
    }

    /// Stores a short-lived value of `plugin` unless `key` has one (`store.put-new`).
    fn store_put_new(
        &self,
        plugin: &str,
        key: &str,
        value: &str,
        ttl_ms: u64,
    ) -> Result<bool, ApiError> {
        let _ = (key, value, ttl_ms);
        Err(not_granted(plugin, "store.put-new"))
    }

    /// Removes and returns a short-lived value of `plugin` (`store.take`).
    fn store_take(&self, plugin: &str, key: &str) -> Option<String> {
        let _ = (plugin, key);
        None
    }

    /// Returns a short-lived value of `plugin` (`store.get`).
    fn store_get(&self, plugin: &str, key: &str) -> Option<String> {
        let _ = (plugin, key);
        None
    }
}

/// [`HostServices`] that grants nothing: every `api.call`, `http.send`, `tcp` connection and
/// `store.put-new` gets a 403 error.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

impl HostServices for DenyAll {}

/// Builds the 403 error that a guest receives for a capability it was not granted.
pub fn not_granted(plugin: &str, capability: &str) -> ApiError {
    ApiError {
        status: 403,
        id: NOT_GRANTED_ID.to_owned(),
        message: format!(
            "Plugin \"{plugin}\" is not granted \"{capability}\": grant it in the plugin's configuration."
        ),
        props: vec![plugin.to_owned(), capability.to_owned()],
    }
}

impl types::Host for InstanceState {}

impl log::Host for InstanceState {
    fn write(&mut self, level: Level, message: String) {
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl environment::Host for InstanceState {
    fn now_ms(&mut self) -> u64 {
        // A clock set before 1970 reads as 0 rather than failing the guest.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            })
    }

    fn settings(&mut self) -> String {
        self.services.settings()
    }

    fn random_bytes(&mut self, length: u32) -> wasmtime::Result<Vec<u8>> {
        if length > MAX_RANDOM_BYTES {
            wasmtime::bail!(
                "environment.random-bytes requested {length} bytes, more than the maximum of {MAX_RANDOM_BYTES}"
            );
        }
        let mut bytes = vec![0; length as usize];
        getrandom::fill(&mut bytes)
            .map_err(|error| wasmtime::format_err!("reading random bytes failed: {error}"))?;
        Ok(bytes)
    }
}

impl api::Host for InstanceState {
    fn call(
        &mut self,
        payload: String,
        identity: Identity,
        current: Option<Resource<RequestHandle>>,
    ) -> wasmtime::Result<Result<String, ApiError>> {
        let current = match &current {
            Some(handle) => Some(Arc::clone(self.lent_request(handle)?)),
            None => None,
        };
        Ok(self
            .services
            .call_api(&self.plugin, &payload, identity, current.as_deref()))
    }
}

impl http::Host for InstanceState {
    fn send(&mut self, request: OutgoingRequest) -> Result<IncomingResponse, ApiError> {
        self.services.send_http(&self.plugin, &request)
    }
}

impl store::Host for InstanceState {
    fn put_new(&mut self, key: String, value: String, ttl_ms: u64) -> Result<bool, ApiError> {
        self.services
            .store_put_new(&self.plugin, &key, &value, ttl_ms)
    }

    fn take(&mut self, key: String) -> Option<String> {
        self.services.store_take(&self.plugin, &key)
    }

    fn get(&mut self, key: String) -> Option<String> {
        self.services.store_get(&self.plugin, &key)
    }
}
