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

/// One kind of cached document, with a generation counter that every invalidation increments.
///
/// A reader notes the generation before it reads the store and inserts its result only if the
/// generation is unchanged. Otherwise an invalidation that ran during the read could be undone
/// by the reader inserting the document as it was before the write.
#[derive(Debug)]
struct CachedMap<T> {
    inner: RwLock<Generation<T>>,
}

#[derive(Debug)]
struct Generation<T> {
    number: u64,
    entries: HashMap<String, Arc<T>>,
}

impl<T> Default for CachedMap<T> {
    fn default() -> Self {
        let inner = Generation {
            number: 0,
            entries: HashMap::new(),
        };
        Self {
            inner: RwLock::new(inner),
        }
    }
}

impl<T> CachedMap<T> {
    fn get(&self, id: &str) -> Option<Arc<T>> {
        self.inner.read().entries.get(id).cloned()
    }

    fn generation(&self) -> u64 {
        self.inner.read().number
    }

    fn insert_if_current(&self, generation: u64, id: &str, value: Arc<T>) {
        let mut inner = self.inner.write();
        if inner.number == generation {
            inner.entries.insert(id.to_owned(), value);
        }
    }

    fn remove(&self, id: Option<&str>) {
        let mut inner = self.inner.write();
        inner.number += 1;
        match id {
            Some(id) => {
                inner.entries.remove(id);
            }
            None => inner.entries.clear(),
        }
    }
}

/// Roles, profiles and users read from the store, shared as `Arc` so that readers never copy.
#[derive(Debug, Default)]
pub struct SecurityCache {
    roles: CachedMap<Role>,
    profiles: CachedMap<Profile>,
    users: CachedMap<User>,
}

/// The generations of the three maps, noted before a store read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generations {
    roles: u64,
    profiles: u64,
    users: u64,
}

impl SecurityCache {
    pub(crate) fn generations(&self) -> Generations {
        Generations {
            roles: self.roles.generation(),
            profiles: self.profiles.generation(),
            users: self.users.generation(),
        }
    }

    pub(crate) fn role(&self, id: &str) -> Option<Arc<Role>> {
        self.roles.get(id)
    }

    pub(crate) fn profile(&self, id: &str) -> Option<Arc<Profile>> {
        self.profiles.get(id)
    }

    pub(crate) fn user(&self, id: &str) -> Option<Arc<User>> {
        self.users.get(id)
    }

    pub(crate) fn insert_role(&self, seen: Generations, id: &str, role: Arc<Role>) {
        self.roles.insert_if_current(seen.roles, id, role);
    }

    pub(crate) fn insert_profile(&self, seen: Generations, id: &str, profile: Arc<Profile>) {
        self.profiles.insert_if_current(seen.profiles, id, profile);
    }

    pub(crate) fn insert_user(&self, seen: Generations, id: &str, user: Arc<User>) {
        self.users.insert_if_current(seen.users, id, user);
    }

    /// Drops the cached entries an invalidation names.
    pub fn invalidate(&self, invalidation: &Invalidation) {
        match invalidation {
            Invalidation::Role(id) => self.roles.remove(Some(id)),
            Invalidation::Profile(id) => self.profiles.remove(Some(id)),
            Invalidation::User(id) => self.users.remove(Some(id)),
            Invalidation::All => {
                self.roles.remove(None);
                self.profiles.remove(None);
                self.users.remove(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_read_not_cached_after_invalidation() {
        let cache = SecurityCache::default();
        let seen = cache.generations();
        // An invalidation lands while the reader is reading the store.
        cache.invalidate(&Invalidation::Role("editor".to_owned()));
        cache.insert_role(seen, "editor", Arc::new(Role::allow_all()));
        assert!(
            cache.role("editor").is_none(),
            "the stale read must not be cached"
        );

        let fresh = cache.generations();
        cache.insert_role(fresh, "editor", Arc::new(Role::allow_all()));
        assert!(cache.role("editor").is_some());
    }

    #[test]
    fn invalidate_all_clears_every_map() {
        let cache = SecurityCache::default();
        let seen = cache.generations();
        cache.insert_role(seen, "r", Arc::new(Role::allow_all()));
        cache.insert_profile(seen, "p", Arc::new(Profile::with_roles(&["r"], 0)));
        cache.insert_user(seen, "u", Arc::new(User::anonymous()));
        cache.invalidate(&Invalidation::All);
        assert!(cache.role("r").is_none());
        assert!(cache.profile("p").is_none());
        assert!(cache.user("u").is_none());
    }
}
