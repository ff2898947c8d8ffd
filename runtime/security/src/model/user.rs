//! Users: an id, the profiles that give it rights, and free content.

use serde_json::{Map, Value};

use crate::error::{Result, SecurityError};

/// The kuid of the anonymous user, the identity of requests without a token.
pub const ANONYMOUS_KUID: &str = "-1";

/// The profile of the anonymous user.
pub const ANONYMOUS_PROFILE: &str = "anonymous";

/// Prefix of the kuid that a plugin's own requests run as, followed by the plugin's name. It
/// appears as the author in `_kuzzle_info` of the documents such requests write, so no user may
/// have a kuid that starts with it.
pub const PLUGIN_KUID_PREFIX: &str = "plugin:";

/// A user: `{_id, _source: {profileIds, ...content, _kuzzle_info}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The kuid.
    pub id: String,
    /// The profiles the user's rights come from, never empty.
    pub profile_ids: Vec<String>,
    /// Every other attribute of the user, including `_kuzzle_info`. Never credentials.
    pub content: Map<String, Value>,
}

impl User {
    /// Builds the anonymous user: `{_id: "-1", name: "Anonymous", profileIds: ["anonymous"]}`.
    pub fn anonymous() -> Self {
        let mut content = Map::new();
        content.insert("name".to_owned(), Value::from("Anonymous"));
        Self {
            id: ANONYMOUS_KUID.to_owned(),
            profile_ids: vec![ANONYMOUS_PROFILE.to_owned()],
            content,
        }
    }

    /// Generates a kuid for a user created without `_id`: `kuid-` followed by a random UUID v4,
    /// the form Kuzzle uses with `kuid=uuid`.
    pub fn generate_id() -> String {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        // Set the version (4) and variant (RFC 9562) bits.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(bytes);
        format!(
            "kuid-{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// Returns whether this is the anonymous user.
    pub fn is_anonymous(&self) -> bool {
        self.id == ANONYMOUS_KUID
    }

    /// Parses a user's `_source` (or a `content` object of a create request).
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidArgument`] when `profileIds` is missing, empty, or contains
    /// something other than non-empty strings.
    pub fn from_source(id: &str, source: &Value) -> Result<Self> {
        let Some(object) = source.as_object() else {
            return Err(SecurityError::invalid_argument(
                format!("user {id}"),
                "the user content must be an object",
            ));
        };
        let mut content = object.clone();
        let profile_ids = content.remove("profileIds");
        let profile_ids = parse_profile_ids(id, profile_ids.as_ref())?;
        Ok(Self {
            id: id.to_owned(),
            profile_ids,
            content,
        })
    }

    /// Serializes the user to its `_source`: the content plus `profileIds`.
    pub fn to_source(&self) -> Value {
        let mut source = self.content.clone();
        let profile_ids = self.profile_ids.iter().cloned().map(Value::from).collect();
        source.insert("profileIds".to_owned(), Value::Array(profile_ids));
        Value::Object(source)
    }
}

fn parse_profile_ids(user_id: &str, value: Option<&Value>) -> Result<Vec<String>> {
    let invalid = |reason: &str| {
        SecurityError::invalid_argument("profileIds", format!("user `{user_id}`: {reason}"))
    };

    let Some(items) = value.and_then(Value::as_array) else {
        return Err(invalid("`profileIds` must be an array of profile ids"));
    };
    if items.is_empty() {
        return Err(invalid("`profileIds` must contain at least one profile id"));
    }
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(profile_id) if !profile_id.is_empty() => Ok(profile_id.to_owned()),
            _ => Err(invalid("`profileIds` must contain non-empty strings")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_is_kuid_uuid() {
        let id = User::generate_id();
        let uuid = id.strip_prefix("kuid-").expect("kuid- prefix");
        let groups: Vec<&str> = uuid.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
        assert_eq!(lengths, vec![8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'), "version 4 in {id}");
        assert!(
            matches!(groups[3].chars().next(), Some('8' | '9' | 'a' | 'b')),
            "variant in {id}"
        );
        assert_ne!(User::generate_id(), id);
    }
}
