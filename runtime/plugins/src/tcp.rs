//! The `tcp` import: connections that the server opens for a guest, kept in the instance's
//! state and closed when the call that opened them returns.

use std::collections::HashMap;

use wasmtime::component::Resource;

use crate::bindings::palisade::plugin::tcp;
use crate::host::InstanceState;
use crate::{ApiError, TcpSecurity};

/// Most connections one call may have open at once. One more is a 429 error rather than a
/// host resource the guest could exhaust.
pub const MAX_CONNECTIONS_PER_CALL: usize = 16;

/// A connection that [`HostServices::connect_tcp`](crate::HostServices::connect_tcp) opened. The
/// methods block the calling thread for at most their timeout.
pub trait TcpConnection: Send {
    /// Writes all of `data`.
    fn write(&mut self, data: &[u8], timeout_ms: u32) -> Result<(), ApiError>;

    /// Reads up to `max_bytes`, waiting for at least one; empty when the peer closed.
    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, ApiError>;

    /// Starts TLS on a plain connection.
    fn start_tls(&mut self, timeout_ms: u32) -> Result<(), ApiError>;
}

/// The host's side of a guest's `connection` resource: an entry of [`Connections`].
#[derive(Debug)]
pub struct ConnectionHandle;

/// The open connections of one instance, by resource handle.
#[derive(Default)]
pub(crate) struct Connections {
    open: HashMap<u32, Box<dyn TcpConnection>>,
    next_handle: u32,
}

impl Connections {
    /// Closes every connection, at the end of a call.
    pub(crate) fn close_all(&mut self) {
        self.open.clear();
    }

    fn insert(&mut self, connection: Box<dyn TcpConnection>) -> u32 {
        self.next_handle = self.next_handle.wrapping_add(1);
        self.open.insert(self.next_handle, connection);
        self.next_handle
    }

    fn get(
        &mut self,
        handle: &Resource<ConnectionHandle>,
    ) -> Result<&mut Box<dyn TcpConnection>, ApiError> {
        self.open.get_mut(&handle.rep()).ok_or_else(closed_error)
    }
}

/// Builds the error of an operation on a connection that an earlier call opened, which the host
/// closed when that call returned.
fn closed_error() -> ApiError {
    ApiError {
        status: 400,
        id: "plugin.tcp.closed".to_owned(),
        message: "The connection is closed: connections last for the call that opened them, so \
                  open a new one in this call."
            .to_owned(),
        props: Vec::new(),
    }
}

fn too_many_error() -> ApiError {
    ApiError {
        status: 429,
        id: "plugin.tcp.too_many_connections".to_owned(),
        message: format!(
            "A call may have at most {MAX_CONNECTIONS_PER_CALL} connections open: drop one before \
             opening another."
        ),
        props: vec![MAX_CONNECTIONS_PER_CALL.to_string()],
    }
}

impl tcp::Host for InstanceState {}

impl tcp::HostConnection for InstanceState {
    fn connect(
        &mut self,
        host: String,
        port: u16,
        security: TcpSecurity,
        timeout_ms: u32,
    ) -> Result<Resource<ConnectionHandle>, ApiError> {
        if self.connections.open.len() >= MAX_CONNECTIONS_PER_CALL {
            return Err(too_many_error());
        }
        let connection =
            self.services
                .connect_tcp(&self.plugin, &host, port, security, timeout_ms)?;
        let handle = self.connections.insert(connection);
        Ok(Resource::new_own(handle))
    }

    fn write(
        &mut self,
        connection: Resource<ConnectionHandle>,
        data: Vec<u8>,
        timeout_ms: u32,
    ) -> Result<(), ApiError> {
        self.connections.get(&connection)?.write(&data, timeout_ms)
    }

    fn read(
        &mut self,
        connection: Resource<ConnectionHandle>,
        max_bytes: u32,
        timeout_ms: u32,
    ) -> Result<Vec<u8>, ApiError> {
        self.connections
            .get(&connection)?
            .read(max_bytes, timeout_ms)
    }

    fn start_tls(
        &mut self,
        connection: Resource<ConnectionHandle>,
        timeout_ms: u32,
    ) -> Result<(), ApiError> {
        self.connections.get(&connection)?.start_tls(timeout_ms)
    }

    fn drop(&mut self, connection: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.connections.open.remove(&connection.rep());
        Ok(())
    }
}
