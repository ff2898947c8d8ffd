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

/// An API request as the host lends it to a plugin call. The guest reads its parts through the
/// methods of the `request` resource.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request id, echoed in the response.
    pub request_id: String,
    /// Controller name, such as `greeting`.
    pub controller: String,
    /// Action name, such as `sayHello`.
    pub action: String,
    /// Every argument of the request as a JSON object.
    pub args: String,
    /// The request body as JSON, if any.
    pub body: Option<String>,
    /// The client's volatile data as a JSON object, if any.
    pub volatile: Option<String>,
    /// The user the request runs as.
    pub user: User,
    /// `http`, `websocket` or `internal`.
    pub protocol: String,
    /// Id of the client connection.
    pub connection_id: String,
}

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

    fn parts(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<types::RequestParts> {
        let request = self.lent_request(&handle)?;
        Ok(types::RequestParts {
            request_id: request.request_id.clone(),
            controller: request.controller.clone(),
            action: request.action.clone(),
            args: request.args.clone(),
            body: request.body.clone(),
            volatile: request.volatile.clone(),
            user: request.user.clone(),
            protocol: request.protocol.clone(),
            connection_id: request.connection_id.clone(),
        })
    }

    fn drop(&mut self, _handle: Resource<RequestHandle>) -> wasmtime::Result<()> {
        // The host only lends requests; the request itself stays in the instance's state until
        // the call ends.
        Ok(())
    }
}
