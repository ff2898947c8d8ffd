//! SAML 2.0 service-provider login for Palisade.
//!
//! `GET /_login/<strategy>` redirects the browser to the IdP with an AuthnRequest (HTTP-Redirect
//! binding). The IdP posts the signed response back to `POST /_login/<strategy>` (HTTP-POST
//! binding), and the plugin verifies it against the IdP certificate of the settings before the
//! server logs the user in. `saml:metadata` returns the SP metadata to give the IdP.
//!
//! The XML, canonicalization and signature code (`c14n`, `signature`, `response`) makes no host
//! calls, so it runs in unit tests on the build machine.

mod authn_request;
mod c14n;
mod certificate;
mod identity;
mod login;
mod metadata;
mod response;
#[cfg(test)]
mod response_tests;
mod settings;
mod signature;
mod time;
mod xml;
mod xml_escape;

use palisade_plugin_sdk::{
    Action, ApiError, Controller, Credentials, Manifest, Plugin, Request, Response, Value, Verdict,
    export_plugin, json,
};

use settings::Settings;

/// The credential fields of the strategy: the HTTP-POST binding's form fields.
const CREDENTIAL_FIELDS: [&str; 2] = ["SAMLResponse", "RelayState"];

struct AuthSaml;

impl Plugin for AuthSaml {
    fn init(settings: Value) -> Result<Manifest, ApiError> {
        let settings = Settings::parse(&settings)?;

        let metadata = Controller::new("saml").action(Action::new("metadata"));
        Ok(Manifest::new("auth-saml", env!("CARGO_PKG_VERSION"))
            .strategy(&settings.strategy, &CREDENTIAL_FIELDS)
            .controller(metadata))
    }

    fn handle(request: Request) -> Result<Response, ApiError> {
        if (request.controller(), request.action()) != ("saml", "metadata") {
            return Err(ApiError::action_not_found(
                request.controller(),
                request.action(),
            ));
        }
        let settings = Settings::for_calls()?;
        // A string result with a non-JSON Content-Type goes out as the raw body over HTTP; over
        // WebSocket the XML is the string `result` of the envelope.
        Ok(Response::ok(metadata::entity_descriptor(&settings))
            .header("Content-Type", "application/samlmetadata+xml"))
    }

    fn verify(strategy: &str, credentials: Value, _request: Request) -> Result<Verdict, ApiError> {
        let settings = Settings::for_calls()?;
        check_strategy(&settings, strategy)?;
        login::verify(&settings, &credentials)
    }

    fn create_credentials(
        strategy: &str,
        _kuid: &str,
        credentials: Value,
    ) -> Result<Credentials, ApiError> {
        check_strategy(&Settings::for_calls()?, strategy)?;
        let name_id = name_id_of(&credentials)?;
        Ok(Credentials::new(name_id).document(json!({"nameId": name_id})))
    }

    fn update_credentials(
        strategy: &str,
        kuid: &str,
        credentials: Value,
        _current: Credentials,
    ) -> Result<Credentials, ApiError> {
        Self::create_credentials(strategy, kuid, credentials)
    }

    fn credentials_info(
        _strategy: &str,
        kuid: &str,
        current: Credentials,
    ) -> Result<Value, ApiError> {
        Ok(json!({"kuid": kuid, "nameId": current.subject}))
    }
}

export_plugin!(AuthSaml);

fn check_strategy(settings: &Settings, strategy: &str) -> Result<(), ApiError> {
    if strategy == settings.strategy {
        return Ok(());
    }
    Err(ApiError::new(
        400,
        "security.credentials.unknown_strategy",
        format!(
            "This plugin implements the strategy \"{}\", not \"{strategy}\".",
            settings.strategy
        ),
    )
    .prop(strategy))
}

/// Reads the `nameId` of credentials that link a user to a SAML subject.
fn name_id_of(credentials: &Value) -> Result<&str, ApiError> {
    match credentials.get("nameId") {
        Some(Value::String(name_id)) if !name_id.trim().is_empty() => Ok(name_id),
        _ => Err(ApiError::new(
            400,
            "security.credentials.rejected",
            "SAML credentials need \"nameId\": the user's NameID at the IdP, a non-empty string.",
        )
        .prop("nameId")),
    }
}
