//! The glue between the WIT exports and a [`Plugin`]: JSON parsing and type conversions.

use serde_json::Value;

use crate::bindings::palisade::plugin::types;
use crate::{ApiError, Plugin, Request, log};

/// Runs [`Plugin::init`] on the host's configuration string.
pub fn init<P: Plugin>(config: String) -> Result<types::Manifest, types::ApiError> {
    let settings = parse_settings(&config)?;
    let manifest = P::init(settings)?;
    Ok(manifest.into())
}

/// Runs [`Plugin::handle`] on the host's request.
pub fn handle<P: Plugin>(request: types::Request) -> Result<types::Response, types::ApiError> {
    let request = Request::from_host(request)?;
    let response = P::handle(request)?;
    Ok(response.into())
}

/// Runs [`Plugin::pipe`] on the host's request and payload.
pub fn pipe<P: Plugin>(
    event: String,
    request: types::Request,
    payload: String,
) -> Result<String, types::ApiError> {
    let request = Request::from_host(request)?;
    let payload = parse_payload(&event, &payload)?;
    let payload = P::pipe(&event, request, payload)?;
    Ok(payload.to_string())
}

/// Runs [`Plugin::hook`] on the host's request and payload. A request or payload that does not
/// parse is logged and the hook is skipped, because a hook has no way to return an error.
pub fn hook<P: Plugin>(event: String, request: types::Request, payload: String) {
    let parsed = Request::from_host(request)
        .and_then(|request| Ok((request, parse_payload(&event, &payload)?)));
    match parsed {
        Ok((request, payload)) => P::hook(&event, request, payload),
        Err(error) => log::error(&format!("hook on \"{event}\" skipped: {error}")),
    }
}

/// Parses the settings JSON; an empty string is the empty object.
fn parse_settings(config: &str) -> Result<Value, ApiError> {
    if config.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str(config) {
        Ok(settings @ Value::Object(_)) => Ok(settings),
        Ok(_) => Err(ApiError::new(
            400,
            "plugin.config.invalid",
            "The plugin settings must be a JSON object.",
        )),
        Err(error) => Err(ApiError::new(
            400,
            "plugin.config.invalid",
            format!("The plugin settings are not valid JSON: {error}."),
        )),
    }
}

fn parse_payload(event: &str, payload: &str) -> Result<Value, ApiError> {
    if payload.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(payload).map_err(|error| {
        ApiError::internal(format!(
            "The payload of \"{event}\" is not valid JSON: {error}."
        ))
        .prop(event)
    })
}

/// Exports a type that implements [`Plugin`] as the plugin of this crate, which must be a
/// `cdylib`. Call it once, at the crate's root or in any module.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            use $crate::bindings::exports::palisade::plugin as exports;
            use $crate::bindings::palisade::plugin::types;

            struct PluginExports;

            impl exports::lifecycle::Guest for PluginExports {
                fn init(config: String) -> Result<types::Manifest, types::ApiError> {
                    $crate::__private::init::<$plugin>(config)
                }
            }

            impl exports::controller::Guest for PluginExports {
                fn handle(request: types::Request) -> Result<types::Response, types::ApiError> {
                    $crate::__private::handle::<$plugin>(request)
                }
            }

            impl exports::pipe::Guest for PluginExports {
                fn run(
                    event: String,
                    request: types::Request,
                    payload: String,
                ) -> Result<String, types::ApiError> {
                    $crate::__private::pipe::<$plugin>(event, request, payload)
                }
            }

            impl exports::hook::Guest for PluginExports {
                fn observe(event: String, request: types::Request, payload: String) {
                    $crate::__private::hook::<$plugin>(event, request, payload)
                }
            }

    $crate::bindings::export!(PluginExports with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_settings_become_object() {
        assert_eq!(parse_settings(""), Ok(serde_json::json!({})));
        assert_eq!(
            parse_settings(" {\"index\":\"a\"} "),
            Ok(serde_json::json!({"index": "a"}))
        );
    }

    #[test]
    fn invalid_settings_rejected() {
        let error = parse_settings("[1]").expect_err("an array is no settings object");
        assert_eq!(error.id, "plugin.config.invalid");

        let error = parse_settings("{").expect_err("invalid JSON");
        assert_eq!(error.status, 400);
    }
}
