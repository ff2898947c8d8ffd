//! Host for Palisade's WebAssembly component plugins.
//!
//! A plugin is a component targeting the `plugin` world of the `palisade:plugin@0.1.0` WIT package
//! (`wit/` at the repository root). [`PluginHost`] compiles components (caching the compiled code
//! on disk), and [`Plugin`] runs each call in an instance of its own with a memory limit and an
//! execution deadline. A trap, a timeout or an exhausted memory limit fails that call with a
//! [`PluginError`] and leaves the host and the plugin usable.

mod cache;
mod error;
mod host;
mod imports;
mod request;
mod strategy;
mod tcp;

/// Rust bindings generated from the WIT world `plugin`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "plugin",
        imports: {
            "palisade:plugin/environment.random-bytes": trappable,
            "palisade:plugin/tcp.[drop]connection": trappable,
            "palisade:plugin/types.[method]request.request-id": trappable,
            "palisade:plugin/types.[method]request.controller": trappable,
            "palisade:plugin/types.[method]request.action": trappable,
            "palisade:plugin/types.[method]request.args": trappable,
            "palisade:plugin/types.[method]request.body": trappable,
            "palisade:plugin/types.[method]request.volatile": trappable,
            "palisade:plugin/types.[method]request.user": trappable,
            "palisade:plugin/types.[method]request.protocol": trappable,
            "palisade:plugin/types.[method]request.connection-id": trappable,
            "palisade:plugin/types.[method]request.parts": trappable,
            "palisade:plugin/types.[drop]request": trappable,
            "palisade:plugin/api.call": trappable,
        },
        with: {
            "palisade:plugin/tcp.connection": crate::tcp::ConnectionHandle,
            "palisade:plugin/types.request": crate::request::RequestHandle,
        },
    });
}

/// Rust bindings of the WIT world `strategy-plugin`, used only for its `strategy` export: every
/// other interface is the one of [`bindings`].
pub mod strategy_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "strategy-plugin",
        with: {
            "palisade:plugin/types": crate::bindings::palisade::plugin::types,
            "palisade:plugin/log": crate::bindings::palisade::plugin::log,
            "palisade:plugin/api": crate::bindings::palisade::plugin::api,
            "palisade:plugin/http": crate::bindings::palisade::plugin::http,
            "palisade:plugin/environment": crate::bindings::palisade::plugin::environment,
            "palisade:plugin/store": crate::bindings::palisade::plugin::store,
            "palisade:plugin/tcp": crate::bindings::palisade::plugin::tcp,
        },
    });
}

pub use bindings::palisade::plugin::api::Identity;
pub use bindings::palisade::plugin::http::{IncomingResponse, OutgoingRequest};
pub use bindings::palisade::plugin::log::Level;
pub use bindings::palisade::plugin::tcp::Security as TcpSecurity;
pub use bindings::palisade::plugin::types::{
    Action, ApiError, Controller, HttpRoute, Manifest, Response, Strategy, User,
};
pub use error::{PluginError, PluginFailure};
pub use host::{Plugin, PluginHost, PluginHostConfig};
pub use imports::{DenyAll, HostServices, MAX_RANDOM_BYTES, NOT_GRANTED_ID, not_granted};
pub use request::{Request, RequestHandle, RequestParts, RequestSource};
pub use strategy_bindings::exports::palisade::plugin::strategy::{
    Identity as StrategyIdentity, NextStep, StoredCredentials, Verdict,
};
pub use tcp::{MAX_CONNECTIONS_PER_CALL, TcpConnection};
