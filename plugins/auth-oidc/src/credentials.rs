//! The credentials actions: linking a user to a subject at the provider.

use palisade_plugin_sdk::{ApiError, Credentials, Value, json};

use crate::settings::Settings;

/// Checks `{"subject": "<subject at the provider>"}` and returns what the host stores.
///
/// # Errors
///
/// A 400 `security.credentials.rejected` naming the field at fault.
pub fn from_request(settings: &Settings, credentials: &Value) -> Result<Credentials, ApiError> {
    let Some(fields) = credentials.as_object() else {
        return Err(rejected(
            "credentials must be an object: {\"subject\": \"<sub>\"}.",
        ));
    };
    if let Some(field) = fields.keys().find(|field| field.as_str() != "subject") {
        return Err(rejected(&format!(
            "unknown field \"{field}\"; OpenID Connect credentials have only \"subject\"."
        ))
        .prop(field.as_str()));
    }

    match fields.get("subject") {
        Some(Value::String(subject)) if !subject.is_empty() => {
            Ok(Credentials::new(subject).document(json!({"issuer": settings.issuer})))
        }
        _ => Err(rejected(&format!(
            "\"subject\" must be the user's non-empty \"{}\" claim at {}.",
            settings.subject_claim, settings.issuer
        ))
        .prop("subject")),
    }
}

/// Returns what clients see: the kuid, the subject and the issuer. The plugin stores no
/// secrets, so nothing is left out.
pub fn info(settings: &Settings, kuid: &str, current: &Credentials) -> Value {
    json!({"kuid": kuid, "subject": current.subject, "issuer": settings.issuer})
}

fn rejected(message: &str) -> ApiError {
    ApiError::new(
        400,
        "security.credentials.rejected",
        format!("Invalid OpenID Connect credentials: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_json(&json!({
            "issuer": "http://127.0.0.1:4000",
            "clientId": "palisade",
            "clientSecret": "secret",
            "redirectUri": "http://127.0.0.1:7512/_login/oidc",
        }))
        .expect("valid settings")
    }

    #[test]
    fn subject_accepted() {
        let credentials = from_request(&settings(), &json!({"subject": "ada"})).expect("valid");

        assert_eq!(credentials.subject, "ada");
        assert_eq!(
            credentials.document,
            json!({"issuer": "http://127.0.0.1:4000"})
        );
    }

    #[test]
    fn invalid_credentials_rejected() {
        let cases = [
            json!("ada"),
            json!({}),
            json!({"subject": ""}),
            json!({"subject": 7}),
            json!({"subject": "ada", "password": "x"}),
        ];
        for credentials in cases {
            let error = from_request(&settings(), &credentials).expect_err("invalid");

            assert_eq!(error.status, 400, "{credentials}");
            assert_eq!(error.id, "security.credentials.rejected", "{credentials}");
        }
    }
}
