//! Example plugin: the `greeting` controller with one action, `sayHello`, which returns
//! `"Hello, <name>"`.
//!
//! `GET /_/greeting/say-hello?name=Ada` and `GET /_/greeting/say-hello/Ada` both call it.

use palisade_plugin_sdk::{
    Action, ApiError, Controller, Manifest, Plugin, Request, Response, Value, export_plugin,
};

struct Greeting;

impl Plugin for Greeting {
    fn init(_settings: Value) -> Result<Manifest, ApiError> {
        let say_hello = Action::new("sayHello").route("GET", "say-hello/:name");
        Ok(Manifest::new("greeting", env!("CARGO_PKG_VERSION"))
            .controller(Controller::new("greeting").action(say_hello)))
    }

    fn handle(request: Request) -> Result<Response, ApiError> {
        match request.action() {
            "sayHello" => say_hello(&request),
            _ => Err(ApiError::action_not_found(
                request.controller(),
                request.action(),
            )),
        }
    }
}

/// Returns `"Hello, <name>"`, or a 400 `api.assert.missing_argument` error without `name`.
fn say_hello(request: &Request) -> Result<Response, ApiError> {
    let name = request.require_str("name")?;
    Ok(Response::ok(format!("Hello, {name}")))
}

export_plugin!(Greeting);
