//! Profiles: roles combined with index and collection restrictions, plus a rate limit.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, SecurityError};

/// A profile: `{policies: [{roleId, restrictedTo?}], rateLimit?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The roles the profile grants, each optionally restricted to some indexes.
    pub policies: Vec<Policy>,
    /// Maximum requests per second for a user of this profile. 0 means unlimited.
    #[serde(rename = "rateLimit", default)]
    pub rate_limit: u32,
}

/// One role of a profile and the indexes and collections it is restricted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The id of the granted role.
    #[serde(rename = "roleId")]
    pub role_id: String,
    /// The indexes (and optionally collections) the role applies to. Empty means everywhere.
    #[serde(
        rename = "restrictedTo",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub restricted_to: Vec<Restriction>,
}

/// One index, and optionally some of its collections, that a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    /// The index name, compared exactly.
    pub index: String,
    /// Collection names, compared exactly. Empty means every collection of the index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
}

impl Restriction {
    /// Returns whether the restriction covers an index and, when given, a collection.
    pub fn covers(&self, index: &str, collection: Option<&str>) -> bool {
        if self.index != index {
            return false;
        }
        match collection {
            None => true,
            Some(_) if self.collections.is_empty() => true,
            Some(collection) => self.collections.iter().any(|allowed| allowed == collection),
        }
    }
}

impl Policy {
    /// Builds a policy granting a role everywhere.
    pub fn unrestricted(role_id: &str) -> Self {
        Self {
            role_id: role_id.to_owned(),
            restricted_to: Vec::new(),
        }
    }

    /// Returns whether the policy's restrictions let a request on `index`/`collection` through.
    /// A request without an index passes any restriction.
    pub fn covers(&self, index: Option<&str>, collection: Option<&str>) -> bool {
        let Some(index) = index else {
            return true;
        };
        if self.restricted_to.is_empty() {
            return true;
        }
        self.restricted_to
            .iter()
            .any(|restriction| restriction.covers(index, collection))
    }
}

fn invalid(profile_id: &str, reason: String) -> SecurityError {
    SecurityError::invalid_argument(format!("profile {profile_id}"), reason)
}

fn reject_unknown_keys(
    profile_id: &str,
    object: &Map<String, Value>,
    allowed: &[&str],
    location: &str,
) -> Result<()> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(invalid(
            profile_id,
            format!(
                "unexpected attribute `{key}` in {location}; allowed attributes: {}",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn non_empty_string(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

fn parse_restriction(profile_id: &str, position: usize, value: &Value) -> Result<Restriction> {
    let location = format!("policies[{position}].restrictedTo");
    let Some(object) = value.as_object() else {
        return Err(invalid(
            profile_id,
            format!("each item of {location} must be an object"),
        ));
    };
    reject_unknown_keys(profile_id, object, &["index", "collections"], &location)?;

    let Some(index) = non_empty_string(object.get("index")) else {
        return Err(invalid(
            profile_id,
            format!("each item of {location} needs a non-empty `index` string"),
        ));
    };

    let mut collections = Vec::new();
    match object.get("collections") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Some(collection) = non_empty_string(Some(item)) else {
                    return Err(invalid(
                        profile_id,
                        format!(
                            "`collections` of index `{index}` in {location} must contain \
                             non-empty strings"
                        ),
                    ));
                };
                collections.push(collection.to_owned());
            }
        }
        Some(_) => {
            return Err(invalid(
                profile_id,
                format!("`collections` of index `{index}` in {location} must be an array"),
            ));
        }
    }

    Ok(Restriction {
        index: index.to_owned(),
        collections,
    })
}

fn parse_policy(profile_id: &str, position: usize, value: &Value) -> Result<Policy> {
    let location = format!("policies[{position}]");
    let Some(object) = value.as_object() else {
        return Err(invalid(profile_id, format!("{location} must be an object")));
    };
    reject_unknown_keys(profile_id, object, &["roleId", "restrictedTo"], &location)?;

    let Some(role_id) = non_empty_string(object.get("roleId")) else {
        return Err(invalid(
            profile_id,
            format!("{location} needs a non-empty `roleId` string"),
        ));
    };

    let restricted_to = match object.get("restrictedTo") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| parse_restriction(profile_id, position, item))
            .collect::<Result<Vec<_>>>()?,
        Some(_) => {
            return Err(invalid(
                profile_id,
                format!("{location}.restrictedTo must be an array"),
            ));
        }
    };

    Ok(Policy {
        role_id: role_id.to_owned(),
        restricted_to,
    })
}

impl Profile {
    /// Builds a profile granting the given roles everywhere, with the given rate limit.
    pub fn with_roles(role_ids: &[&str], rate_limit: u32) -> Self {
        Self {
            policies: role_ids
                .iter()
                .map(|role_id| Policy::unrestricted(role_id))
                .collect(),
            rate_limit,
        }
    }

    /// Parses and validates a profile body.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidArgument`] naming the faulty attribute when `policies` is missing or
    /// empty, a policy lacks `roleId`, a restriction lacks `index`, an attribute is unknown, or
    /// `rateLimit` is not an integer between 0 and 2^32-1.
    pub fn from_json(profile_id: &str, body: &Value) -> Result<Self> {
        let Some(policies) = body.get("policies").and_then(Value::as_array) else {
            return Err(invalid(
                profile_id,
                "`policies` must be an array".to_owned(),
            ));
        };
        if policies.is_empty() {
            return Err(invalid(
                profile_id,
                "`policies` must not be empty".to_owned(),
            ));
        }
        let policies = policies
            .iter()
            .enumerate()
            .map(|(position, policy)| parse_policy(profile_id, position, policy))
            .collect::<Result<Vec<_>>>()?;

        let rate_limit = match body.get("rateLimit") {
            None | Some(Value::Null) => 0,
            Some(value) => value
                .as_u64()
                .and_then(|limit| u32::try_from(limit).ok())
                .ok_or_else(|| {
                    invalid(
                        profile_id,
                        format!(
                            "`rateLimit` must be an integer from 0 to {}, not `{value}`",
                            u32::MAX
                        ),
                    )
                })?,
        };

        Ok(Self {
            policies,
            rate_limit,
        })
    }

    /// Returns the ids of the roles the profile uses, in policy order.
    pub fn role_ids(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|policy| policy.role_id.as_str())
    }

    /// Serializes the profile to its stored JSON form.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
