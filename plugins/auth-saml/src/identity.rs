//! The identity a verified assertion proves: subject, user content and profiles.

use palisade_plugin_sdk::{Identity, Value, json};

use crate::response::VerifiedAssertion;
use crate::settings::Settings;

/// Builds the identity of `assertion` with the attribute mappings of `settings`.
///
/// # Errors
///
/// A message when the configured subject attribute is missing or empty.
pub fn identity_of(settings: &Settings, assertion: &VerifiedAssertion) -> Result<Identity, String> {
    let subject = match &settings.subject_attribute {
        None => assertion.name_id.clone(),
        Some(name) => values_of(assertion, name)
            .and_then(|values| values.first())
            .filter(|value| !value.trim().is_empty())
            .cloned()
            .ok_or_else(|| format!("the subject attribute {name:?} is missing or empty"))?,
    };

    let mut content = serde_map();
    for (attribute, field) in &settings.attributes {
        if let Some(values) = values_of(assertion, attribute) {
            let value = match values {
                [single] => Value::from(single.clone()),
                many => Value::from(many.to_vec()),
            };
            content.insert(field.clone(), value);
        }
    }

    let mut profile_ids: Vec<String> = Vec::new();
    if let Some(name) = &settings.profiles_attribute {
        for value in values_of(assertion, name).unwrap_or_default() {
            if let Some(profile) = settings.profiles_mapping.get(value)
                && !profile_ids.contains(profile)
            {
                profile_ids.push(profile.clone());
            }
        }
    }

    Ok(Identity::new(subject)
        .content(Value::Object(content))
        .profile_ids(profile_ids)
        .document(json!({"nameId": assertion.name_id})))
}

fn values_of<'a>(assertion: &'a VerifiedAssertion, name: &str) -> Option<&'a [String]> {
    assertion
        .attributes
        .iter()
        .find(|(attribute, _)| attribute == name)
        .map(|(_, values)| values.as_slice())
}

fn serde_map() -> palisade_plugin_sdk::serde_json::Map<String, Value> {
    palisade_plugin_sdk::serde_json::Map::new()
}

#[cfg(test)]
mod tests {
    use palisade_plugin_sdk::json;

    use super::*;

    const CERTIFICATE: &str = include_str!("../testdata/idp-certificate.pem");

    fn settings(extra: Value) -> Settings {
        let mut value = json!({
            "entityId": "http://127.0.0.1:7512/saml/sp",
            "acsUrl": "http://127.0.0.1:7512/_login/saml",
            "idpSsoUrl": "http://127.0.0.1:8080/sso",
            "idpEntityId": "http://127.0.0.1/test-idp",
            "idpCertificate": CERTIFICATE,
        });
        for (key, item) in extra.as_object().expect("an object") {
            value[key] = item.clone();
        }
        Settings::parse(&value).expect("valid settings")
    }

    fn assertion() -> VerifiedAssertion {
        VerifiedAssertion {
            id: "_assertion1".to_owned(),
            in_response_to: "_request1".to_owned(),
            name_id: "ada@example.com".to_owned(),
            name_id_format: None,
            attributes: vec![
                ("uid".to_owned(), vec!["ada".to_owned()]),
                ("mail".to_owned(), vec!["ada@example.com".to_owned()]),
                (
                    "groups".to_owned(),
                    vec!["admins".to_owned(), "staff".to_owned(), "admins".to_owned()],
                ),
            ],
            not_on_or_after_ms: 0,
        }
    }

    #[test]
    fn name_id_is_default_subject() {
        let identity = identity_of(&settings(json!({})), &assertion()).expect("an identity");

        assert_eq!(identity.subject, "ada@example.com");
        assert_eq!(identity.content, json!({}));
        assert!(identity.profile_ids.is_empty());
        assert_eq!(identity.document, json!({"nameId": "ada@example.com"}));
    }

    #[test]
    fn attributes_mapped_to_content() {
        let settings =
            settings(json!({"attributes": {"mail": "email", "groups": "groups", "absent": "x"}}));
        let identity = identity_of(&settings, &assertion()).expect("an identity");

        assert_eq!(
            identity.content,
            json!({"email": "ada@example.com", "groups": ["admins", "staff", "admins"]})
        );
    }

    #[test]
    fn groups_mapped_to_profiles() {
        let settings = settings(json!({
            "profilesAttribute": "groups",
            "profilesMapping": {"admins": "admin", "staff": "default", "other": "none"},
        }));
        let identity = identity_of(&settings, &assertion()).expect("an identity");

        assert_eq!(identity.profile_ids, ["admin", "default"]);
    }

    #[test]
    fn subject_attribute_replaces_name_id() {
        let identity = identity_of(&settings(json!({"subjectAttribute": "uid"})), &assertion())
            .expect("an identity");
        assert_eq!(identity.subject, "ada");

        let missing = identity_of(
            &settings(json!({"subjectAttribute": "employeeId"})),
            &assertion(),
        );
        assert!(missing.is_err());
    }
}
