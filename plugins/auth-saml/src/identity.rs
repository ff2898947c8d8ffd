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
