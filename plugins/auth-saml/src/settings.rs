//! The plugin's settings, the `[settings]` table of `auth-saml.toml`.

use std::collections::BTreeMap;

use palisade_plugin_sdk::{ApiError, Value};
use rsa::PublicKey;

use crate::certificate::rsa_key_from_certificate;

/// Strategy name when the settings give none.
pub const DEFAULT_STRATEGY: &str = "saml";
/// Clock skew tolerated on `NotBefore` and `NotOnOrAfter` when the settings give none, in seconds.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;
/// How long an AuthnRequest waits for its response when the settings give no TTL, in seconds.
pub const DEFAULT_REQUEST_TTL_SECONDS: u64 = 600;
/// The `NameIDPolicy` format requested when the settings give none.
pub const DEFAULT_NAME_ID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// Maximum clock skew, in seconds: beyond it an expired assertion would stay valid for long.
const MAX_CLOCK_SKEW_SECONDS: u64 = 600;
/// Maximum AuthnRequest TTL, in seconds (one day).
const MAX_REQUEST_TTL_SECONDS: u64 = 86_400;

/// The parsed and checked settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Name of the strategy, the `<name>` of `/_login/<name>`.
    pub strategy: String,
    /// The SP's entity id: the `Issuer` of AuthnRequests and the expected `Audience`.
    pub entity_id: String,
    /// The assertion consumer service URL: where the IdP posts responses, and the expected
    /// `Destination` and `Recipient`.
    pub acs_url: String,
    /// The IdP's single sign-on URL (HTTP-Redirect binding).
    pub idp_sso_url: String,
    /// The IdP's entity id, the expected `Issuer`.
    pub idp_entity_id: String,
    /// The key of the IdP certificate, the only key that signatures are checked against.
    pub idp_key: PublicKey,
    /// Tolerated clock difference with the IdP, in milliseconds.
    pub clock_skew_ms: u64,
    /// Lifetime of a pending AuthnRequest, in milliseconds.
    pub request_ttl_ms: u64,
    /// The `NameIDPolicy` format requested.
    pub name_id_format: String,
    /// The attribute whose first value is the subject, instead of `NameID`.
    pub subject_attribute: Option<String>,
    /// SAML attribute name to the user content field it fills.
    pub attributes: BTreeMap<String, String>,
    /// The attribute whose values grant profiles through `profiles_mapping`.
    pub profiles_attribute: Option<String>,
    /// Attribute value to profile id.
    pub profiles_mapping: BTreeMap<String, String>,
}

impl Settings {
    /// Reads the settings object.
    ///
    /// # Errors
    ///
    /// A 400 `plugin.config.invalid` error naming the first missing or invalid key.
    pub fn parse(settings: &Value) -> Result<Self, ApiError> {
        let strategy = optional_string(settings, "strategyName")?
            .unwrap_or_else(|| DEFAULT_STRATEGY.to_owned());
        if !strategy
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "strategyName",
                "must contain only letters, digits, '-' and '_'",
            ));
        }

        let certificate = required_string(settings, "idpCertificate")?;
        let idp_key = rsa_key_from_certificate(&certificate)
            .map_err(|reason| invalid("idpCertificate", &reason))?;

        Ok(Self {
            strategy,
            entity_id: required_string(settings, "entityId")?,
            acs_url: required_url(settings, "acsUrl")?,
            idp_sso_url: required_url(settings, "idpSsoUrl")?,
            idp_entity_id: required_string(settings, "idpEntityId")?,
            idp_key,
            clock_skew_ms: seconds(
                settings,
                "clockSkewSeconds",
                DEFAULT_CLOCK_SKEW_SECONDS,
                0..=MAX_CLOCK_SKEW_SECONDS,
            )? * 1000,
            request_ttl_ms: seconds(
                settings,
                "requestTtlSeconds",
                DEFAULT_REQUEST_TTL_SECONDS,
                1..=MAX_REQUEST_TTL_SECONDS,
            )? * 1000,
            name_id_format: optional_string(settings, "nameIdFormat")?
                .unwrap_or_else(|| DEFAULT_NAME_ID_FORMAT.to_owned()),
            subject_attribute: optional_string(settings, "subjectAttribute")?,
            attributes: string_map(settings, "attributes")?,
            profiles_attribute: optional_string(settings, "profilesAttribute")?,
            profiles_mapping: string_map(settings, "profilesMapping")?,
        })
    }

    /// Reads the settings the host gives every call; `init` already accepted them.
    ///
    /// # Errors
    ///
    /// A 500 error if they no longer parse, which only a changed settings file without a reload
    /// can cause.
    pub fn for_calls() -> Result<Self, ApiError> {
        Self::parse(&palisade_plugin_sdk::environment::settings())
            .map_err(|error| ApiError::internal(error.message))
    }
}

fn invalid(key: &str, reason: &str) -> ApiError {
    ApiError::new(
        400,
        "plugin.config.invalid",
        format!("Invalid SAML setting \"{key}\": {reason}."),
    )
    .prop(key)
}

fn optional_string(settings: &Value, key: &str) -> Result<Option<String>, ApiError> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) if !value.trim().is_empty() => Ok(Some(value.clone())),
        Some(_) => Err(invalid(key, "must be a non-empty string")),
    }
}

fn required_string(settings: &Value, key: &str) -> Result<String, ApiError> {
    optional_string(settings, key)?.ok_or_else(|| invalid(key, "is missing"))
}

fn required_url(settings: &Value, key: &str) -> Result<String, ApiError> {
    let url = required_string(settings, key)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(invalid(key, "must be an http:// or https:// URL"));
    }
    Ok(url)
}

fn seconds(
    settings: &Value,
    key: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ApiError> {
    let value = match settings.get(key) {
        None | Some(Value::Null) => return Ok(default),
        Some(value) => value.as_u64(),
    };
    match value {
        Some(seconds) if range.contains(&seconds) => Ok(seconds),
        _ => Err(invalid(
            key,
            &format!(
                "must be a whole number of seconds from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn string_map(settings: &Value, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let object = match settings.get(key) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(invalid(key, "must be a table of strings")),
    };
    object
        .iter()
        .map(|(name, value)| match value {
            Value::String(target) if !target.is_empty() => Ok((name.clone(), target.clone())),
            _ => Err(invalid(
                key,
                &format!("the value of \"{name}\" must be a non-empty string"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use palisade_plugin_sdk::json;

    use super::*;

    const CERTIFICATE: &str = include_str!("../testdata/idp-certificate.pem");

    fn valid() -> Value {
        json!({
            "entityId": "http://127.0.0.1:7512/saml/sp",
            "acsUrl": "http://127.0.0.1:7512/_login/saml",
            "idpSsoUrl": "http://127.0.0.1:8080/sso",
            "idpEntityId": "http://127.0.0.1/test-idp",
            "idpCertificate": CERTIFICATE,
        })
    }

    fn error_with(key: &str, value: Value) -> ApiError {
        let mut settings = valid();
        settings[key] = value;
        Settings::parse(&settings).expect_err("invalid settings")
    }

    #[test]
    fn defaults_applied() {
        let settings = Settings::parse(&valid()).expect("valid settings");

        assert_eq!(settings.strategy, "saml");
        assert_eq!(settings.clock_skew_ms, 60_000);
        assert_eq!(settings.request_ttl_ms, 600_000);
        assert_eq!(settings.name_id_format, DEFAULT_NAME_ID_FORMAT);
        assert_eq!(settings.subject_attribute, None);
        assert!(settings.attributes.is_empty());
    }

    #[test]
    fn mappings_read() {
        let mut settings = valid();
        settings["attributes"] = json!({"mail": "email"});
        settings["profilesMapping"] = json!({"admins": "admin"});
        settings["clockSkewSeconds"] = json!(5);
        let settings = Settings::parse(&settings).expect("valid settings");

        assert_eq!(settings.attributes["mail"], "email");
        assert_eq!(settings.profiles_mapping["admins"], "admin");
        assert_eq!(settings.clock_skew_ms, 5_000);
    }

    #[test]
    fn missing_keys_named() {
        for key in [
            "entityId",
            "acsUrl",
            "idpSsoUrl",
            "idpEntityId",
            "idpCertificate",
        ] {
            let mut settings = valid();
            settings.as_object_mut().expect("an object").remove(key);
            let error = Settings::parse(&settings).expect_err("missing key");

            assert_eq!(error.id, "plugin.config.invalid", "{key}");
            assert!(error.message.contains(key), "{key}: {}", error.message);
            assert_eq!(error.props, [key]);
        }
    }

    #[test]
    fn invalid_values_named() {
        let cases = [
            ("acsUrl", json!("ftp://127.0.0.1/acs")),
            ("idpCertificate", json!("not a certificate")),
            ("clockSkewSeconds", json!(601)),
            ("clockSkewSeconds", json!(-1)),
            ("requestTtlSeconds", json!(0)),
            ("strategyName", json!("sa ml")),
            ("attributes", json!({"mail": 1})),
            ("profilesMapping", json!(["admin"])),
        ];
        for (key, value) in cases {
            let error = error_with(key, value.clone());

            assert_eq!(error.status, 400, "{key} = {value}");
            assert_eq!(error.props, [key], "{key} = {value}");
        }
    }
}
