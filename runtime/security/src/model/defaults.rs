//! The default roles and profiles: open ones written at first start, and the restricted set
//! that `security:restrictDefaultRights` (or `createFirstAdmin` with `reset`) writes over them.

use super::profile::Profile;
use super::role::Role;

/// Ids of the roles and profiles created at first start. They can be changed but not deleted.
pub const DEFAULT_IDS: [&str; 3] = ["admin", "default", "anonymous"];

/// Returns whether a role or profile id is one of the undeletable defaults.
pub fn is_default_id(id: &str) -> bool {
    DEFAULT_IDS.contains(&id)
}

/// Returns the roles written at first start: all three grant every action, as in Kuzzle, so that
/// the first administrator can be created anonymously.
pub fn bootstrap_roles() -> Vec<(&'static str, Role)> {
    DEFAULT_IDS
        .iter()
        .map(|id| (*id, Role::allow_all()))
        .collect()
}

/// Returns the profiles written at first start: each grants the role of the same name, without a
/// rate limit.
pub fn bootstrap_profiles() -> Vec<(&'static str, Profile)> {
    DEFAULT_IDS
        .iter()
        .map(|id| (*id, Profile::with_roles(&[id], 0)))
        .collect()
}

/// Returns the roles written by `restrictDefaultRights`: `admin` keeps every right, `default` and
/// `anonymous` get only what a client needs to log in and inspect its own session.
pub fn restricted_roles() -> Vec<(&'static str, Role)> {
    let anonymous = Role::allowing(&[
        (
            "auth",
            &["checkToken", "getCurrentUser", "getMyRights", "login"],
        ),
        ("server", &["publicApi", "openapi"]),
    ]);
    let default = Role::allowing(&[
        (
            "auth",
            &[
                "checkToken",
                "getCurrentUser",
                "getMyRights",
                "logout",
                "updateSelf",
            ],
        ),
        ("server", &["publicApi"]),
    ]);
    vec![
        ("admin", Role::allow_all()),
        ("default", default),
        ("anonymous", anonymous),
    ]
}

/// Returns the profiles written by `restrictDefaultRights`, with rate limits in requests per
/// second: `admin` unlimited, `default` 10, `anonymous` 200 (shared by every anonymous client).
pub fn restricted_profiles() -> Vec<(&'static str, Profile)> {
    vec![
        ("admin", Profile::with_roles(&["admin"], 0)),
        ("default", Profile::with_roles(&["default"], 10)),
        ("anonymous", Profile::with_roles(&["anonymous"], 200)),
    ]
}
