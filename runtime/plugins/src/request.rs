//! The `request` resource: the API request a call runs for, lent to the guest for that call.
//!
//! A guest reads each part through a method, so a call lowers into the guest only the parts it
//! reads. The request also names the user an `api.call` as `current-user` runs as: the guest can
//! pass back only the handle it was lent, never a user of its own making.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use wasmtime::component::Resource;

use crate::User;
use crate::bindings::palisade::plugin::types;
use crate::host::InstanceState;

/// The parts of a request, the record a guest reads through the methods of `request`.
pub type RequestParts = types::RequestParts;

/// A builder of a request's parts, which the host calls when a guest first reads one.
pub trait RequestSource: Any + Send + Sync {
    /// Builds every part of the request.
    fn parts(&self) -> RequestParts;
}

/// An API request as the host lends it to plugin calls. Its parts are built on the first read,
/// so a call whose guest reads none of them, such as a pipe passing its payload through, does
/// not pay for them.
pub struct Request(Parts);

enum Parts {
    Built(RequestParts),
    Lazy {
        source: Box<dyn RequestSource>,
        built: OnceLock<RequestParts>,
    },
}

impl Request {
    /// Creates a request from parts already built.
    pub fn new(parts: RequestParts) -> Self {
        Self(Parts::Built(parts))
    }

    /// Creates a request whose parts `source` builds on the first read.
    pub fn lazy(source: impl RequestSource + 'static) -> Self {
        Self(Parts::Lazy {
            source: Box::new(source),
            built: OnceLock::new(),
        })
    }

    /// Returns the source of a lazy request if it is a `T`, so that its creator can read what
    /// it keeps beside the parts.
    pub fn source<T: RequestSource>(&self) -> Option<&T> {
        match &self.0 {
            Parts::Built(_) => None,
            Parts::Lazy { source, .. } => {
                let source: &dyn Any = source.as_ref();
                source.downcast_ref()
            }
        }
    }

    /// Returns the parts of the request, building them on the first call.
    pub fn parts(&self) -> &RequestParts {
        match &self.0 {
            Parts::Built(parts) => parts,
            Parts::Lazy { source, built } => built.get_or_init(|| source.parts()),
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = match &self.0 {
            Parts::Built(parts) => Some(parts),
            Parts::Lazy { built, .. } => built.get(),
        };
        match parts {
            Some(parts) => formatter.debug_tuple("Request").field(parts).finish(),
            None => formatter.write_str("Request(not built yet)"),
        }
    }
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
        Ok(self.lent_request(&handle)?.parts().request_id.clone())
    }

    fn controller(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.parts().controller.clone())
    }

    fn action(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.parts().action.clone())
    }

    fn args(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.parts().args.clone())
    }

    fn body(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.lent_request(&handle)?.parts().body.clone())
    }

    fn volatile(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.lent_request(&handle)?.parts().volatile.clone())
    }

    fn user(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<User> {
        Ok(self.lent_request(&handle)?.parts().user.clone())
    }

    fn protocol(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.parts().protocol.clone())
    }

    fn connection_id(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<String> {
        Ok(self.lent_request(&handle)?.parts().connection_id.clone())
    }

    fn parts(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<RequestParts> {
        Ok(self.lent_request(&handle)?.parts().clone())
    }

    fn drop(&mut self, _handle: Resource<RequestHandle>) -> wasmtime::Result<()> {
        // The host only lends requests; the request itself stays in the instance's state until
        // the call ends.
        Ok(())
    }
}
