//! The Palisade identity that verified ID token claims map to.

use palisade_plugin_sdk::Identity;
use serde_json::{Map, Value, json};

use crate::settings::Settings;

/// Builds the identity from `claims`: the subject from `subjectClaim`, the user content from
/// `contentClaims`, the profiles from `profilesClaim` through `profiles`.
///
/// # Errors
///
/// A message when the subject claim is missing or is neither a string nor a number.
pub fn identity(claims: &Map<String, Value>, settings: &Settings) -> Result<Identity, String> {
    let subject = match claims.get(&settings.subject_claim) {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => {
            return Err(format!(
                "the ID token has no string claim \"{}\" to use as the subject",
                settings.subject_claim
            ));
        }
    };

    let content: Map<String, Value> = settings
        .content_claims
        .iter()
        .filter_map(|(field, claim)| Some((field.clone(), claims.get(claim)?.clone())))
        .collect();

    // The credentials document keeps where the subject comes from.
    let document = json!({"issuer": settings.issuer, "sub": claims.get("sub")});

    Ok(Identity::new(subject)
        .content(Value::Object(content))
        .profile_ids(profile_ids(claims, settings))
        .document(document))
}

/// Maps the values of `profilesClaim` through `profiles`; unmapped values are ignored, so the
/// provider can grant only the profiles the operator listed.
fn profile_ids(claims: &Map<String, Value>, settings: &Settings) -> Vec<String> {
    let Some(claim) = &settings.profiles_claim else {
        return Vec::new();
    };
    let values: Vec<&str> = match claims.get(claim) {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };

    let mut profiles: Vec<String> = Vec::new();
    for value in values {
        if let Some(profile) = settings.profiles.get(value)
            && !profiles.contains(profile)
        {
            profiles.push(profile.clone());
        }
    }
    profiles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: Value) -> Settings {
        let mut json = json!({
            "issuer": "http://127.0.0.1:4000",
            "clientId": "palisade",
            "clientSecret": "secret",
            "redirectUri": "http://127.0.0.1:7512/_login/oidc",
        });
        for (key, value) in extra.as_object().unwrap() {
            json[key] = value.clone();
        }
        Settings::from_json(&json).expect("valid settings")
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn default_mapping_uses_sub_email_name() {
        let claims =
            claims(json!({"sub": "ada", "email": "ada@example.com", "name": "Ada", "x": 1}));

        let identity = identity(&claims, &settings(json!({}))).expect("identity");

        assert_eq!(identity.subject, "ada");
        assert_eq!(
            identity.content,
            json!({"email": "ada@example.com", "name": "Ada"})
        );
        assert!(identity.profile_ids.is_empty());
        assert_eq!(identity.document["sub"], "ada");
    }

    #[test]
    fn custom_subject_and_content_claims() {
        let settings = settings(json!({
            "subjectClaim": "preferred_username",
            "contentClaims": {"mail": "email"},
        }));
        let claims = claims(json!({"sub": "1", "preferred_username": "ada", "email": "a@b.c"}));

        let identity = identity(&claims, &settings).expect("identity");

        assert_eq!(identity.subject, "ada");
        assert_eq!(identity.content, json!({"mail": "a@b.c"}));
    }

    #[test]
    fn missing_subject_claim_rejected() {
        let settings = settings(json!({"subjectClaim": "oid"}));

        let error = identity(&claims(json!({"sub": "ada"})), &settings).expect_err("no oid");

        assert!(error.contains("\"oid\""), "{error}");
    }

    #[test]
    fn profiles_mapped_from_claim() {
        let settings = settings(json!({
            "profilesClaim": "groups",
            "profiles": {"staff": "default", "admins": "admin", "ops": "admin"},
        }));
        let claims = claims(json!({"sub": "ada", "groups": ["admins", "ops", "unknown"]}));

        let identity = identity(&claims, &settings).expect("identity");

        assert_eq!(identity.profile_ids, ["admin"]);
    }
}
