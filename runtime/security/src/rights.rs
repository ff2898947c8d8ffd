//! Rights checks: whether a user's profiles let a request through, and the listing of rights
//! returned by `auth:getMyRights`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, SecurityError};
use crate::model::profile::Profile;
use crate::model::role::Role;
use crate::model::user::User;

/// One index and the collections of a multi-index request (`targets` of `document:search`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The index name.
    pub index: String,
    /// The collection names. Empty checks the index alone.
    pub collections: Vec<String>,
}

/// A user with its profiles and their roles loaded, enough to decide any rights question
/// without further store reads. Build it once per request with
/// [`crate::Security::user_rights`], or with [`UserRights::new`] in tests.
#[derive(Debug, Clone)]
pub struct UserRights {
    user: Arc<User>,
    profiles: Vec<(String, Arc<Profile>)>,
    roles: HashMap<String, Arc<Role>>,
}

/// One line of the `auth:getMyRights` listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RightEntry {
    /// The controller name, or `*`.
    pub controller: String,
    /// The action name, or `*`.
    pub action: String,
    /// The index the right is restricted to, or `*`.
    pub index: String,
    /// The collection the right is restricted to, or `*`.
    pub collection: String,
    /// `"allowed"` or `"denied"`.
    pub value: &'static str,
}

impl Target {
    /// Parses the `targets` argument of a multi-index request:
    /// `[{"index": "i", "collections": ["c1", "c2"]}, ...]`.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidArgument`] naming the faulty item when `targets` is not an array
    /// of objects with a non-empty `index` string and an optional array of collection names.
    pub fn parse_list(targets: &Value) -> Result<Vec<Self>> {
        let invalid = |reason: String| SecurityError::invalid_argument("targets", reason);
        let Some(items) = targets.as_array() else {
            return Err(invalid(
                "expected an array of `{index, collections}` objects".to_owned(),
            ));
        };

        let mut parsed = Vec::with_capacity(items.len());
        for (position, item) in items.iter().enumerate() {
            let index = item
                .get("index")
                .and_then(Value::as_str)
                .filter(|index| !index.is_empty());
            let Some(index) = index else {
                return Err(invalid(format!(
                    "targets[{position}] needs a non-empty `index` string"
                )));
            };
            let collections = match item.get("collections") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(names)) => names
                    .iter()
                    .map(|name| name.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        invalid(format!(
                            "targets[{position}].collections must contain strings"
                        ))
                    })?,
                Some(_) => {
                    return Err(invalid(format!(
                        "targets[{position}].collections must be an array"
                    )));
                }
            };
            parsed.push(Self {
                index: index.to_owned(),
                collections,
            });
        }
        Ok(parsed)
    }
}

fn has_wildcard(name: &str) -> bool {
    name.contains('*') || name.contains('?')
}

impl UserRights {
    /// Assembles a user's rights. A policy whose role is missing from `roles` grants nothing.
    pub fn new(
        user: Arc<User>,
        profiles: Vec<(String, Arc<Profile>)>,
        roles: HashMap<String, Arc<Role>>,
    ) -> Self {
        Self {
            user,
            profiles,
            roles,
        }
    }

    /// Returns the user these rights belong to.
    pub fn user(&self) -> &Arc<User> {
        &self.user
    }

    /// Returns the user's profiles, in the order of its `profileIds`.
    pub fn profiles(&self) -> &[(String, Arc<Profile>)] {
        &self.profiles
    }

    /// Returns whether the user may run `controller:action` on `index`/`collection`.
    ///
    /// Allowed when at least one policy of one profile both grants the action through its role
    /// and covers the index and collection through its `restrictedTo`. Each policy is judged on
    /// its own restrictions, so a role shared by two profiles carries no restriction from one
    /// profile into the other.
    pub fn is_allowed(
        &self,
        controller: &str,
        action: &str,
        index: Option<&str>,
        collection: Option<&str>,
    ) -> bool {
        self.profiles.iter().any(|(_, profile)| {
            profile.policies.iter().any(|policy| {
                let Some(role) = self.roles.get(&policy.role_id) else {
                    return false;
                };
                role.is_action_allowed(controller, action) && policy.covers(index, collection)
            })
        })
    }

    /// Returns whether the user may run `controller:action` on every index and collection of a
    /// multi-index request. Names containing `*` or `?` are denied because a pattern could
    /// reach indexes the user has no right on.
    pub fn is_allowed_on_targets(
        &self,
        controller: &str,
        action: &str,
        targets: &[Target],
    ) -> bool {
        targets.iter().all(|target| {
            if has_wildcard(&target.index) {
                return false;
            }
            if target.collections.is_empty() {
                return self.is_allowed(controller, action, Some(&target.index), None);
            }
            target.collections.iter().all(|collection| {
                !has_wildcard(collection)
                    && self.is_allowed(controller, action, Some(&target.index), Some(collection))
            })
        })
    }

    /// Checks a request's rights and builds the error the API returns when they are missing.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Unauthorized`] for the anonymous user (so that the client logs in),
    /// [`SecurityError::Forbidden`] for a logged-in user.
    pub fn check(
        &self,
        controller: &str,
        action: &str,
        index: Option<&str>,
        collection: Option<&str>,
    ) -> Result<()> {
        if self.is_allowed(controller, action, index, collection) {
            return Ok(());
        }
        Err(self.denial(controller, action))
    }

    /// Builds the error for a denied `controller:action`.
    pub fn denial(&self, controller: &str, action: &str) -> SecurityError {
        if self.user.is_anonymous() {
            SecurityError::Unauthorized {
                controller: controller.to_owned(),
                action: action.to_owned(),
            }
        } else {
            SecurityError::Forbidden {
                controller: controller.to_owned(),
                action: action.to_owned(),
                kuid: self.user.id.clone(),
            }
        }
    }

    /// Keeps the indexes on which the user may run `controller:action` (such as `index:list`).
    pub fn filter_indexes(
        &self,
        controller: &str,
        action: &str,
        indexes: Vec<String>,
    ) -> Vec<String> {
        indexes
            .into_iter()
            .filter(|index| self.is_allowed(controller, action, Some(index), None))
            .collect()
    }

    /// Keeps the collections of `index` on which the user may run `controller:action` (such as
    /// `collection:list`).
    pub fn filter_collections(
        &self,
        controller: &str,
        action: &str,
        index: &str,
        collections: Vec<String>,
    ) -> Vec<String> {
        collections
            .into_iter()
            .filter(|collection| self.is_allowed(controller, action, Some(index), Some(collection)))
            .collect()
    }

    /// Returns the request rate limit of the user, in requests per second: the maximum over its
    /// profiles, where 0 in any profile means unlimited (returned as 0).
    pub fn rate_limit(&self) -> u32 {
        let limits = self.profiles.iter().map(|(_, profile)| profile.rate_limit);
        if limits.clone().any(|limit| limit == 0) {
            return 0;
        }
        limits.max().unwrap_or(0)
    }

    /// Lists the user's rights as `auth:getMyRights` returns them: one entry per role right and
    /// per restriction, with `*` for an unrestricted index or collection. When two policies give
    /// the same entry different values, `allowed` wins.
    pub fn list(&self) -> Vec<RightEntry> {
        let mut merged: BTreeMap<(String, String, String, String), bool> = BTreeMap::new();
        for (_, profile) in &self.profiles {
            for policy in &profile.policies {
                let Some(role) = self.roles.get(&policy.role_id) else {
                    continue;
                };
                for scope in policy_scopes(policy) {
                    for (controller, rights) in &role.controllers {
                        for (action, allowed) in &rights.actions {
                            let key = (
                                controller.clone(),
                                action.clone(),
                                scope.0.clone(),
                                scope.1.clone(),
                            );
                            let value = merged.entry(key).or_insert(false);
                            *value |= *allowed;
                        }
                    }
                }
            }
        }

        merged
            .into_iter()
            .map(
                |((controller, action, index, collection), allowed)| RightEntry {
                    controller,
                    action,
                    index,
                    collection,
                    value: if allowed { "allowed" } else { "denied" },
                },
            )
            .collect()
    }

    /// Builds the `auth:getMyRights` result: `{hits: [...], total}` from [`UserRights::list`].
    pub fn list_result(&self) -> Value {
        let hits = self.list();
        let total = hits.len();
        serde_json::json!({"hits": hits, "total": total})
    }
}

/// Lists the `(index, collection)` pairs a policy applies to, `*` standing for any.
fn policy_scopes(policy: &crate::model::profile::Policy) -> Vec<(String, String)> {
    let any = || "*".to_owned();
    if policy.restricted_to.is_empty() {
        return vec![(any(), any())];
    }
    let mut scopes = Vec::new();
    for restriction in &policy.restricted_to {
        if restriction.collections.is_empty() {
            scopes.push((restriction.index.clone(), any()));
        }
        for collection in &restriction.collections {
            scopes.push((restriction.index.clone(), collection.clone()));
        }
    }
    scopes
}
