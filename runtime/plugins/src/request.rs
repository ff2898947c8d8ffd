//! The `request` resource: the API request a call runs for, lent to the guest for that call.
//!
//! A guest reads each part through a method, so a call lowers into the guest only the parts it
//! reads. The request also names the user an `api.call` as `current-user` runs as: the guest can
//! pass back only the handle it was lent, never a user of its own making.

use std::sync::Arc;

use wasmtime::component::Resource;

use crate::User;
use crate::bindings::palisade::plugin::types;
use crate::host::InstanceState;

/// An API request as the host lends it to a plugin call: the `request-parts` record, which the
/// guest reads part by part through the methods of the `request` resource.
pub type Request = types::RequestParts;

/// The handle type of the `request` resource. Each call lends at most one request, kept in the
/// instance's state, so the handle carries no index of its own.
#[derive(Debug)]
pub struct RequestHandle;

/// The representation of the handle lent to a call.
const LENT: u32 = 0;

/// Returns a handle to lend the guest for the request of the current call.
pub(crate) fn lend() -> Resource<RequestHandle> {
    Resource::new_borrow(LENT)
}

impl InstanceState {
    /// Returns the request the guest's `handle` names: the one lent to the current call.
    ///
    /// # Errors
    ///
    /// Traps the guest when no request is lent, which only a guest forging handles can cause.
    pub(crate) fn lent_request(
        &self,
        handle: &Resource<RequestHandle>,
    ) -> wasmtime::Result<&Arc<Request>> {
        match &self.request {
            Some(request) if handle.rep() == LENT => Ok(request),
            _ => wasmtime::bail!(
                "the request handle {} is not lent to this call",
                handle.rep()
            ),
        }
    }
}

impl types::HostRequest for InstanceState {
    fn request_id(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.request_id.clone())
    }

    fn controller(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.controller.clone())
    }

    fn action(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.action.clone())
    }

    fn args(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.args.clone())
    }

    fn body(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.lent_request(&handle)?.body.clone())
    }

    fn volatile(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.lent_request(&handle)?.volatile.clone())
    }

    fn user(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<User> {
        Ok(self.lent_request(&handle)?.user.clone())
    }

    fn protocol(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.protocol.clone())
    }

    fn connection_id(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.connection_id.clone())
    }

    fn parts(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<Request> {
        Ok(Request::clone(self.lent_request(&handle)?))
    }

    fn drop(&mut self, _handle: Resource<RequestHandle>) -> wasmtime::Result<()> {
        // The host only lends requests; the request itself stays in the instance's state until
        // the call ends.
        Ok(())
    }
}
