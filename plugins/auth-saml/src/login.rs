//! The two steps of a login: the redirect to the IdP, then the check of the posted response.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use palisade_plugin_sdk::{ApiError, NextStep, Value, Verdict, environment, log, store};

use crate::authn_request::{MAX_RELAY_STATE_BYTES, authn_request_xml, redirect_url};
use crate::identity::identity_of;
use crate::metadata;
use crate::response::{Expected, MAX_RESPONSE_BYTES, verify_response};
use crate::settings::Settings;

/// Store key prefix of pending AuthnRequest ids.
const REQUEST_KEY: &str = "request:";
/// Store key prefix of assertion ids already used.
const ASSERTION_KEY: &str = "assertion:";
/// Random bytes in an AuthnRequest id (160 bits, the minimum SAML 2.0 core advises for unguessable ids).
const REQUEST_ID_BYTES: u32 = 20;

/// Runs the login step that `credentials` call for: a `SAMLResponse` is checked, a `metadata`
/// argument returns the SP metadata, and anything else starts a login.
pub fn verify(settings: &Settings, credentials: &Value) -> Result<Verdict, ApiError> {
    match credentials.get("SAMLResponse") {
        Some(Value::String(encoded)) => Ok(finish_login(settings, encoded)),
        Some(_) => Ok(Verdict::Rejected("SAMLResponse is not a string".to_owned())),
        None if credentials.get("metadata").is_some() => Ok(metadata_step(settings)),
        None => start_login(settings, credentials),
    }
}

/// Registers a new AuthnRequest id and redirects to the IdP with the request.
fn start_login(settings: &Settings, credentials: &Value) -> Result<Verdict, ApiError> {
    let relay_state = relay_state_of(credentials)?;
    let id = format!("_{}", hex(&environment::random_bytes(REQUEST_ID_BYTES)));
    let stored = store::put_new(
        &format!("{REQUEST_KEY}{id}"),
        "pending",
        settings.request_ttl_ms,
    )?;
    if !stored {
        return Err(ApiError::internal(format!(
            "The new AuthnRequest id {id} is already pending: the host's random generator repeats."
        )));
    }

    let xml = authn_request_xml(settings, &id, environment::now_ms());
    let url = redirect_url(&settings.idp_sso_url, &xml, relay_state);
    Ok(Verdict::NextStep(
        NextStep::redirect(url).header("Cache-Control", "no-store"),
    ))
}

fn relay_state_of(credentials: &Value) -> Result<Option<&str>, ApiError> {
    match credentials.get("RelayState") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(state)) if state.len() <= MAX_RELAY_STATE_BYTES => Ok(Some(state)),
        Some(_) => Err(ApiError::new(
            400,
            "api.assert.invalid_argument",
            format!("RelayState must be a string of at most {MAX_RELAY_STATE_BYTES} bytes."),
        )
        .prop("RelayState")),
    }
}

fn metadata_step(settings: &Settings) -> Verdict {
    Verdict::NextStep(NextStep {
        status: 200,
        headers: vec![("Content-Type".to_owned(), metadata::CONTENT_TYPE.to_owned())],
        body: metadata::entity_descriptor(settings),
    })
}

/// Checks a posted response and returns the identity it proves, or why it is rejected.
fn finish_login(settings: &Settings, encoded: &str) -> Verdict {
    match check_response(settings, encoded) {
        Ok(verdict) => verdict,
        Err(reason) => Verdict::Rejected(format!("SAML response rejected: {reason}")),
    }
}

fn check_response(settings: &Settings, encoded: &str) -> Result<Verdict, String> {
    let xml = decode_response(encoded)?;
    let now_ms = i64::try_from(environment::now_ms()).unwrap_or(i64::MAX);
    let clock_skew_ms = i64::try_from(settings.clock_skew_ms).unwrap_or(i64::MAX);
    let expected = Expected {
        entity_id: &settings.entity_id,
        acs_url: &settings.acs_url,
        idp_entity_id: &settings.idp_entity_id,
        idp_key: &settings.idp_key,
        now_ms,
        clock_skew_ms,
    };
    let assertion = verify_response(&xml, &expected)?;

    // The request id is taken, not read, so only one response can complete an AuthnRequest.
    if store::take(&format!("{REQUEST_KEY}{}", assertion.in_response_to)).is_none() {
        return Err(format!(
            "InResponseTo {:?} is not a pending AuthnRequest (unknown, expired or already used)",
            assertion.in_response_to
        ));
    }

    // The assertion id stays marked until the assertion expires, after which the time checks
    // reject it anyway.
    let remaining_ms = assertion.not_on_or_after_ms + clock_skew_ms - now_ms;
    let ttl_ms = u64::try_from(remaining_ms).unwrap_or(1).max(1);
    let first_use = store::put_new(&format!("{ASSERTION_KEY}{}", assertion.id), "used", ttl_ms)
        .map_err(|error| format!("cannot record the assertion id: {error}"))?;
    if !first_use {
        return Err(format!("the assertion {:?} was already used", assertion.id));
    }

    let identity = identity_of(settings, &assertion)?;
    log::info(&format!(
        "SAML login of subject {:?} (assertion {})",
        identity.subject, assertion.id
    ));
    Ok(Verdict::Authenticated(identity))
}

fn decode_response(encoded: &str) -> Result<String, String> {
    // Base64 of the maximum response, plus line breaks that some IdPs insert.
    if encoded.len() > MAX_RESPONSE_BYTES * 2 {
        return Err("SAMLResponse is too large".to_owned());
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|error| format!("SAMLResponse is not valid base64: {error}"))?;
    String::from_utf8(bytes).map_err(|_| "SAMLResponse is not UTF-8 XML".to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
