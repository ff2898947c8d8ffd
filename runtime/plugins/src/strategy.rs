//! Calls into the optional `strategy` export of a plugin.

use std::sync::Arc;

use crate::host::{ReadyInstance, Reuse};
use crate::strategy_bindings::exports::palisade::plugin::strategy::Guest;
use crate::{ApiError, Plugin, PluginError, Request, StoredCredentials, Verdict};

impl Plugin {
    /// Calls `strategy.verify`: checks a login attempt with `credentials` (a JSON object).
    pub fn verify(
        &self,
        strategy: &str,
        credentials: &str,
        request: &Arc<Request>,
    ) -> Result<Result<Verdict, ApiError>, PluginError> {
        self.call_strategy("strategy.verify", |guest, store| {
            store.data_mut().request = Some(Arc::clone(request));
            let outcome =
                guest.call_verify(&mut *store, strategy, credentials, crate::request::lend());
            store.data_mut().request = None;
            outcome
        })
    }

    /// Calls `strategy.create`: checks new credentials of `kuid` and returns what to store.
    pub fn create_credentials(
        &self,
        strategy: &str,
        kuid: &str,
        credentials: &str,
    ) -> Result<Result<StoredCredentials, ApiError>, PluginError> {
        self.call_strategy("strategy.create", |guest, store| {
            guest.call_create(store, strategy, kuid, credentials)
        })
    }

    /// Calls `strategy.update`: checks a change to the credentials `current` of `kuid`.
    pub fn update_credentials(
        &self,
        strategy: &str,
        kuid: &str,
        credentials: &str,
        current: &StoredCredentials,
    ) -> Result<Result<StoredCredentials, ApiError>, PluginError> {
        self.call_strategy("strategy.update", |guest, store| {
            guest.call_update(store, strategy, kuid, credentials, current)
        })
    }

    /// Calls `strategy.validate`: checks credentials without storing them.
    pub fn validate_credentials(
        &self,
        strategy: &str,
        kuid: &str,
        credentials: &str,
        current: Option<&StoredCredentials>,
    ) -> Result<Result<(), ApiError>, PluginError> {
        self.call_strategy("strategy.validate", |guest, store| {
            guest.call_validate(store, strategy, kuid, credentials, current)
        })
    }

    /// Calls `strategy.delete` before the host deletes the credentials `current` of `kuid`.
    pub fn delete_credentials(
        &self,
        strategy: &str,
        kuid: &str,
        current: &StoredCredentials,
    ) -> Result<Result<(), ApiError>, PluginError> {
        self.call_strategy("strategy.delete", |guest, store| {
            guest.call_delete(store, strategy, kuid, current)
        })
    }

    /// Calls `strategy.get-info`: what a client may see of the credentials `current` of `kuid`.
    pub fn credentials_info(
        &self,
        strategy: &str,
        kuid: &str,
        current: &StoredCredentials,
    ) -> Result<Result<String, ApiError>, PluginError> {
        self.call_strategy("strategy.get-info", |guest, store| {
            guest.call_get_info(store, strategy, kuid, current)
        })
    }

    fn call_strategy<T>(
        &self,
        function: &'static str,
        run: impl FnOnce(
            &Guest,
            &mut wasmtime::Store<crate::host::InstanceState>,
        ) -> wasmtime::Result<T>,
    ) -> Result<T, PluginError> {
        if !self.has_strategy() {
            return Err(PluginError::Call {
                plugin: self.name().to_owned(),
                function,
                failure: crate::PluginFailure::Trap(
                    "the component does not export the `strategy` interface".to_owned(),
                ),
            });
        }
        self.call_instance(
            function,
            Reuse::AfterSuccess,
            |ready: &mut ReadyInstance| {
                let guest = ready.strategy.as_ref().ok_or_else(|| {
                    wasmtime::format_err!("the instance has no `strategy` export")
                })?;
                run(guest, &mut ready.store)
            },
        )
    }
}
