//! The glue between the WIT exports and a [`Plugin`]: JSON parsing and type conversions.

use serde_json::Value;

use crate::bindings::palisade::plugin::types;
use crate::payload::{self, Payload};
use crate::{ApiError, Plugin, Request, log};

/// Runs [`Plugin::init`] on the host's configuration string.
pub fn init<P: Plugin>(config: String) -> Result<types::Manifest, types::ApiError> {
    let settings = parse_settings(&config)?;
    let manifest = P::init(settings)?;
    Ok(manifest.into())
}

/// Runs [`Plugin::handle`] on the host's request.
pub fn handle<P: Plugin>(request: &types::Request) -> Result<types::Response, types::ApiError> {
    let request = Request::from_host(request);
    let response = P::handle(request)?;
    Ok(response.into())
}

/// Runs [`Plugin::pipe`] on the host's request and payload.
pub fn pipe<P: Plugin>(
    event: String,
    request: &types::Request,
    payload: String,
) -> Result<String, types::ApiError> {
    let request = Request::from_host(request);
    let payload = Payload::from_host(&event, payload);
    let payload = P::pipe(&event, request, payload)?;
    Ok(payload.into_text())
}

/// Runs [`Plugin::hook`] on the host's request and payload. A payload that does not parse is
/// logged and the hook is skipped, because a hook has no way to return an error.
pub fn hook<P: Plugin>(event: String, request: &types::Request, payload: String) {
    match payload::parse(&event, &payload) {
        Ok(payload) => P::hook(&event, Request::from_host(request), payload),
        Err(error) => log::error(&format!("hook on \"{event}\" skipped: {error}")),
    }
}

/// Glue of the `strategy` export: JSON parsing and conversions around the strategy functions of
/// [`Plugin`].
pub mod strategy {
    use serde_json::Value;

    use crate::bindings::exports::palisade::plugin::strategy as wit;
    use crate::bindings::palisade::plugin::types;
    use crate::{ApiError, Credentials, Plugin, Request};

    /// Runs [`Plugin::verify`].
    pub fn verify<P: Plugin>(
        strategy: String,
        credentials: String,
        request: &types::Request,
    ) -> Result<wit::Verdict, types::ApiError> {
        let request = Request::from_host(request);
        let credentials = parse_credentials(&credentials)?;
        Ok(P::verify(&strategy, credentials, request)?.into())
    }

    /// Runs [`Plugin::create_credentials`].
    pub fn create<P: Plugin>(
        strategy: String,
        kuid: String,
        credentials: String,
    ) -> Result<wit::StoredCredentials, types::ApiError> {
        let credentials = parse_credentials(&credentials)?;
        Ok(P::create_credentials(&strategy, &kuid, credentials)?.into())
    }

    /// Runs [`Plugin::update_credentials`].
    pub fn update<P: Plugin>(
        strategy: String,
        kuid: String,
        credentials: String,
        current: wit::StoredCredentials,
    ) -> Result<wit::StoredCredentials, types::ApiError> {
        let credentials = parse_credentials(&credentials)?;
        Ok(P::update_credentials(&strategy, &kuid, credentials, current.into())?.into())
    }

    /// Runs [`Plugin::validate_credentials`].
    pub fn validate<P: Plugin>(
        strategy: String,
        kuid: String,
        credentials: String,
        current: Option<wit::StoredCredentials>,
    ) -> Result<(), types::ApiError> {
        let credentials = parse_credentials(&credentials)?;
        let current = current.map(Credentials::from);
        Ok(P::validate_credentials(
            &strategy,
            &kuid,
            credentials,
            current,
        )?)
    }

    /// Runs [`Plugin::delete_credentials`].
    pub fn delete<P: Plugin>(
        strategy: String,
        kuid: String,
        current: wit::StoredCredentials,
    ) -> Result<(), types::ApiError> {
        Ok(P::delete_credentials(&strategy, &kuid, current.into())?)
    }

    /// Runs [`Plugin::credentials_info`].
    pub fn get_info<P: Plugin>(
        strategy: String,
        kuid: String,
        current: wit::StoredCredentials,
    ) -> Result<String, types::ApiError> {
        Ok(P::credentials_info(&strategy, &kuid, current.into())?.to_string())
    }

    /// Parses credentials, which must be a JSON object.
    fn parse_credentials(credentials: &str) -> Result<Value, ApiError> {
        match serde_json::from_str(credentials) {
            Ok(object @ Value::Object(_)) => Ok(object),
            _ => Err(ApiError::new(
                400,
                "security.credentials.rejected",
                "The credentials must be a JSON object.",
            )),
        }
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
                fn handle(request: &types::Request) -> Result<types::Response, types::ApiError> {
                    $crate::__private::handle::<$plugin>(request)
                }
            }

            impl exports::pipe::Guest for PluginExports {
                fn run(
                    event: String,
                    request: &types::Request,
                    payload: String,
                ) -> Result<String, types::ApiError> {
                    $crate::__private::pipe::<$plugin>(event, request, payload)
                }
            }

            impl exports::hook::Guest for PluginExports {
                fn observe(event: String, request: &types::Request, payload: String) {
                    $crate::__private::hook::<$plugin>(event, request, payload)
                }
            }

            impl exports::strategy::Guest for PluginExports {
                fn verify(
                    strategy: String,
                    credentials: String,
                    request: &types::Request,
                ) -> Result<exports::strategy::Verdict, types::ApiError> {
                    $crate::__private::strategy::verify::<$plugin>(strategy, credentials, request)
                }

                fn create(
                    strategy: String,
                    kuid: String,
                    credentials: String,
                ) -> Result<exports::strategy::StoredCredentials, types::ApiError> {
                    $crate::__private::strategy::create::<$plugin>(strategy, kuid, credentials)
                }

                fn update(
                    strategy: String,
                    kuid: String,
                    credentials: String,
                    current: exports::strategy::StoredCredentials,
                ) -> Result<exports::strategy::StoredCredentials, types::ApiError> {
                    $crate::__private::strategy::update::<$plugin>(
                        strategy,
                        kuid,
                        credentials,
                        current,
                    )
                }

                fn validate(
                    strategy: String,
                    kuid: String,
                    credentials: String,
                    current: Option<exports::strategy::StoredCredentials>,
                ) -> Result<(), types::ApiError> {
                    $crate::__private::strategy::validate::<$plugin>(
                        strategy,
                        kuid,
                        credentials,
                        current,
                    )
                }

                fn delete(
                    strategy: String,
                    kuid: String,
                    current: exports::strategy::StoredCredentials,
                ) -> Result<(), types::ApiError> {
                    $crate::__private::strategy::delete::<$plugin>(strategy, kuid, current)
                }

                fn get_info(
                    strategy: String,
                    kuid: String,
                    current: exports::strategy::StoredCredentials,
                ) -> Result<String, types::ApiError> {
                    $crate::__private::strategy::get_info::<$plugin>(strategy, kuid, current)
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
