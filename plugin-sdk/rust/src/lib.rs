//! Write Palisade plugins in Rust.
//!
//! A plugin is a WebAssembly component of the `strategy-plugin` world of the WIT package
//! `palisade:plugin@0.1.0`: the `plugin` world plus authentication strategies. This crate generates the bindings with wit-bindgen and wraps them in
//! plain Rust types: implement [`Plugin`] on a type, call [`export_plugin!`] once, build the
//! crate as a `cdylib` for `wasm32-unknown-unknown` and turn the core module into a component
//! with `palisade-componentize`.
//!
//! ```no_run
//! use palisade_plugin_sdk::{
//!     Action, ApiError, Controller, Manifest, Plugin, Request, Response, Value, export_plugin,
//! };
//!
//! struct Greeting;
//!
//! impl Plugin for Greeting {
//!     fn init(_settings: Value) -> Result<Manifest, ApiError> {
//!         Ok(Manifest::new("greeting", env!("CARGO_PKG_VERSION"))
//!             .controller(Controller::new("greeting").action(Action::new("sayHello"))))
//!     }
//!
//!     fn handle(request: Request) -> Result<Response, ApiError> {
//!         let name = request.require_str("name")?;
//!         Ok(Response::ok(format!("Hello, {name}")))
//!     }
//! }
//!
//! export_plugin!(Greeting);
//! ```
//!
//! The host runs a call in a new instance or in one that an earlier call left, so no call can
//! count on what another kept in memory: short-lived values go through [`store`].

// The bindings name this crate by its path, which needs this alias inside the crate itself.
extern crate self as palisade_plugin_sdk;

pub mod api;
mod document;
pub mod environment;
mod error;
mod export;
pub mod http;
pub mod log;
mod manifest;
mod payload;
mod plugin;
mod request;
mod response;
pub mod store;
pub mod strategy;
pub mod tcp;

pub use document::Document;
pub use error::ApiError;
pub use manifest::{Action, Controller, Manifest};
pub use payload::Payload;
pub use plugin::Plugin;
pub use request::{Request, RequestParts, User};
pub use response::Response;
pub use serde_json::{self, Value, json};
pub use strategy::{Credentials, Identity, NextStep, Verdict};

/// Bindings that wit-bindgen generates from the repository's `wit/` folder.
#[doc(hidden)]
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "strategy-plugin",
        pub_export_macro: true,
        default_bindings_module: "palisade_plugin_sdk::bindings",
        runtime_path: "palisade_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// Items that the [`export_plugin!`] expansion uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{handle, hook, init, pipe, strategy};
    pub use wit_bindgen;
}
