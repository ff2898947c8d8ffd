//! In-memory cache of roles, profiles and users, with invalidation that a cluster can relay.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::model::profile::Profile;
use crate::model::role::Role;
use crate::model::user::User;

/// A cached document that changed or was deleted, and must be read again from the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Invalidation {
    /// A role, by id.
    Role(String),
    /// A profile, by id.
    Profile(String),
    /// A user, by kuid.
    User(String),
    /// Every cached document, after a bulk change such as `restrictDefaultRights`.
    All,
}

/// Tells the other nodes of a cluster that a cached document changed.
///
/// A node calls [`InvalidationBus::publish`] after each write. A cluster implementation (over
/// Redis pub/sub, for example) delivers the event to the other nodes, which apply it with
/// [`crate::Security::apply_invalidation`]. The node that published has already dropped its own
/// entry.
pub trait InvalidationBus: Send + Sync + Debug {
    /// Sends an invalidation to the other nodes.
    fn publish(&self, invalidation: &Invalidation);
}

/// The bus of a single node, which sends nothing because there is no other node.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalBus;

impl InvalidationBus for LocalBus {
    fn publish(&self, _invalidation: &Invalidation) {}
}

/// Roles, profiles and users read from the store, shared as `Arc` so that readers never copy.
#[derive(Debug, Default)]
pub struct SecurityCache {
    roles: RwLock<HashMap<String, Arc<Role>>>,
    profiles: RwLock<HashMap<String, Arc<Profile>>>,
    users: RwLock<HashMap<String, Arc<User>>>,
}

impl SecurityCache {
    pub(crate) fn role(&self, id: &str) -> Option<Arc<Role>> {
        self.roles.read().get(id).cloned()
    }

    pub(crate) fn profile(&self, id: &str) -> Option<Arc<Profile>> {
        self.profiles.read().get(id).cloned()
    }

    pub(crate) fn user(&self, id: &str) -> Option<Arc<User>> {
        self.users.read().get(id).cloned()
    }

    pub(crate) fn insert_role(&self, id: &str, role: Arc<Role>) {
        self.roles.write().insert(id.to_owned(), role);
    }

    pub(crate) fn insert_profile(&self, id: &str, profile: Arc<Profile>) {
        self.profiles.write().insert(id.to_owned(), profile);
    }

    pub(crate) fn insert_user(&self, id: &str, user: Arc<User>) {
        self.users.write().insert(id.to_owned(), user);
    }

    /// Drops the cached entries an invalidation names.
    pub fn invalidate(&self, invalidation: &Invalidation) {
        match invalidation {
            Invalidation::Role(id) => {
                self.roles.write().remove(id);
            }
            Invalidation::Profile(id) => {
                self.profiles.write().remove(id);
            }
            Invalidation::User(id) => {
                self.users.write().remove(id);
            }
            Invalidation::All => {
                self.roles.write().clear();
                self.profiles.write().clear();
                self.users.write().clear();
            }
        }
    }
}
