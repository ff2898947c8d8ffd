//! The security repository: roles, profiles and users read through the cache and written
//! through the store, with the integrity rules between them.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use crate::cache::{Invalidation, InvalidationBus, SecurityCache};
use crate::error::{Result, SecurityError};
use crate::model::defaults::{self, is_default_id};
use crate::model::profile::Profile;
use crate::model::role::{KnownActions, Role};
use crate::model::user::{ANONYMOUS_KUID, ANONYMOUS_PROFILE, PLUGIN_KUID_PREFIX, User};
use crate::rights::UserRights;
use crate::store::{Collection, SecurityStore};

/// Rejects a kuid in the form of a plugin's own identity, `plugin:<name>`.
fn check_not_plugin_kuid(kuid: &str) -> Result<()> {
    if kuid.starts_with(PLUGIN_KUID_PREFIX) {
        return Err(SecurityError::invalid_argument(
            "_id",
            format!(
                "\"{kuid}\" starts with \"{PLUGIN_KUID_PREFIX}\", which names plugins' own \
                 identities: choose another kuid"
            ),
        ));
    }
    Ok(())
}

/// The anonymous user, which never changes, so that anonymous requests do not build it anew.
static ANONYMOUS: LazyLock<Arc<User>> = LazyLock::new(|| Arc::new(User::anonymous()));

/// Roles, profiles and users, with caching and integrity rules.
///
/// The default roles and profiles cannot be deleted, and neither can a role that a profile uses
/// or a profile that a user has. A profile can only use existing roles, and a user can only have
/// existing profiles.
#[derive(Debug)]
pub struct Security {
    store: Arc<dyn SecurityStore>,
    cache: SecurityCache,
    bus: Arc<dyn InvalidationBus>,
}

fn parse_stored<T>(kind: &str, id: &str, parsed: Result<T>) -> Result<T> {
    parsed.map_err(|error| {
        SecurityError::Internal(format!("stored {kind} `{id}` is invalid: {error}"))
    })
}

impl Security {
    /// Creates the repository over a store and a cluster invalidation bus
    /// ([`crate::LocalBus`] on a single node).
    pub fn new(store: Arc<dyn SecurityStore>, bus: Arc<dyn InvalidationBus>) -> Self {
        Self {
            store,
            cache: SecurityCache::default(),
            bus,
        }
    }

    /// Returns the underlying store.
    pub fn store(&self) -> &Arc<dyn SecurityStore> {
        &self.store
    }

    /// Writes the open default roles and profiles that do not exist yet. Run at every start:
    /// existing documents are left unchanged.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn bootstrap(&self) -> Result<()> {
        for (id, role) in defaults::bootstrap_roles() {
            self.store
                .create(Collection::Roles, id, role.to_json())
                .await?;
        }
        for (id, profile) in defaults::bootstrap_profiles() {
            self.store
                .create(Collection::Profiles, id, profile.to_json())
                .await?;
        }
        Ok(())
    }

    /// Replaces the default roles and profiles with their restricted versions, as
    /// `security:restrictDefaultRights` does.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn restrict_default_rights(&self) -> Result<()> {
        for (id, role) in defaults::restricted_roles() {
            self.store
                .put(Collection::Roles, id, role.to_json())
                .await?;
        }
        for (id, profile) in defaults::restricted_profiles() {
            self.store
                .put(Collection::Profiles, id, profile.to_json())
                .await?;
        }
        self.invalidate(Invalidation::All);
        Ok(())
    }

    /// Applies an invalidation received from another node of the cluster.
    pub fn apply_invalidation(&self, invalidation: &Invalidation) {
        self.cache.invalidate(invalidation);
    }

    fn invalidate(&self, invalidation: Invalidation) {
        self.cache.invalidate(&invalidation);
        self.bus.publish(&invalidation);
    }

    /// Fetches a role.
    ///
    /// # Errors
    ///
    /// [`SecurityError::RoleNotFound`] for an unknown id.
    pub async fn get_role(&self, id: &str) -> Result<Arc<Role>> {
        if let Some(role) = self.cache.role(id) {
            return Ok(role);
        }
        let seen = self.cache.generations();
        let Some(body) = self.store.get(Collection::Roles, id).await? else {
            return Err(SecurityError::RoleNotFound { id: id.to_owned() });
        };
        let role = Arc::new(parse_stored("role", id, Role::from_json(id, &body))?);
        self.cache.insert_role(seen, id, Arc::clone(&role));
        Ok(role)
    }

    /// Validates and stores a role, replacing any role of the same id.
    ///
    /// Without `force`, every controller and action the role names must be in `known`.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidRights`], [`SecurityError::UnknownController`] or
    /// [`SecurityError::UnknownAction`] for a bad body. [`SecurityError::Store`] when the store
    /// fails.
    pub async fn create_or_replace_role(
        &self,
        id: &str,
        body: &Value,
        force: bool,
        known: &KnownActions,
    ) -> Result<Role> {
        let role = Role::from_json(id, body)?;
        if !force {
            role.check_known_actions(id, known)?;
        }
        self.store
            .put(Collection::Roles, id, role.to_json())
            .await?;
        self.invalidate(Invalidation::Role(id.to_owned()));
        Ok(role)
    }

    /// Deletes a role that no profile uses.
    ///
    /// # Errors
    ///
    /// [`SecurityError::RoleCannotDelete`] for a default role, [`SecurityError::RoleInUse`]
    /// when a profile uses it, [`SecurityError::RoleNotFound`] for an unknown id.
    pub async fn delete_role(&self, id: &str) -> Result<()> {
        if is_default_id(id) {
            return Err(SecurityError::RoleCannotDelete { id: id.to_owned() });
        }
        for stored in self.store.list(Collection::Profiles).await? {
            let profile = parse_stored(
                "profile",
                &stored.id,
                Profile::from_json(&stored.id, &stored.source),
            )?;
            if profile.role_ids().any(|role_id| role_id == id) {
                return Err(SecurityError::RoleInUse {
                    id: id.to_owned(),
                    profile: stored.id,
                });
            }
        }
        if !self.store.delete(Collection::Roles, id).await? {
            return Err(SecurityError::RoleNotFound { id: id.to_owned() });
        }
        self.invalidate(Invalidation::Role(id.to_owned()));
        Ok(())
    }

    /// Fetches a profile.
    ///
    /// # Errors
    ///
    /// [`SecurityError::ProfileNotFound`] for an unknown id.
    pub async fn get_profile(&self, id: &str) -> Result<Arc<Profile>> {
        if let Some(profile) = self.cache.profile(id) {
            return Ok(profile);
        }
        let seen = self.cache.generations();
        let Some(body) = self.store.get(Collection::Profiles, id).await? else {
            return Err(SecurityError::ProfileNotFound { id: id.to_owned() });
        };
        let profile = Arc::new(parse_stored("profile", id, Profile::from_json(id, &body))?);
        self.cache.insert_profile(seen, id, Arc::clone(&profile));
        Ok(profile)
    }

    /// Validates and stores a profile whose roles all exist, replacing any profile of the same id.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidArgument`] for a bad body, [`SecurityError::MissingAnonymousRole`]
    /// when the `anonymous` profile loses the `anonymous` role, [`SecurityError::RoleNotFound`]
    /// for a policy naming an unknown role. [`SecurityError::Store`] when the store fails.
    pub async fn create_or_replace_profile(&self, id: &str, body: &Value) -> Result<Profile> {
        let profile = Profile::from_json(id, body)?;
        if id == ANONYMOUS_PROFILE
            && !profile
                .role_ids()
                .any(|role_id| role_id == ANONYMOUS_PROFILE)
        {
            return Err(SecurityError::MissingAnonymousRole);
        }
        for role_id in profile.role_ids() {
            self.get_role(role_id).await?;
        }
        self.store
            .put(Collection::Profiles, id, profile.to_json())
            .await?;
        self.invalidate(Invalidation::Profile(id.to_owned()));
        Ok(profile)
    }

    /// Deletes a profile that no user has.
    ///
    /// # Errors
    ///
    /// [`SecurityError::ProfileCannotDelete`] for a default profile,
    /// [`SecurityError::ProfileInUse`] when a user has it, [`SecurityError::ProfileNotFound`]
    /// for an unknown id.
    pub async fn delete_profile(&self, id: &str) -> Result<()> {
        if is_default_id(id) {
            return Err(SecurityError::ProfileCannotDelete { id: id.to_owned() });
        }
        let users = self
            .store
            .search_by_field(Collection::Users, "profileIds", &Value::from(id))
            .await?;
        if let Some(user) = users.into_iter().next() {
            return Err(SecurityError::ProfileInUse {
                id: id.to_owned(),
                user: user.id,
            });
        }
        if !self.store.delete(Collection::Profiles, id).await? {
            return Err(SecurityError::ProfileNotFound { id: id.to_owned() });
        }
        self.invalidate(Invalidation::Profile(id.to_owned()));
        Ok(())
    }

    /// Fetches a user. The kuid `-1` returns the anonymous user, which is never stored.
    ///
    /// # Errors
    ///
    /// [`SecurityError::UserNotFound`] for an unknown kuid.
    pub async fn get_user(&self, kuid: &str) -> Result<Arc<User>> {
        if kuid == ANONYMOUS_KUID {
            return Ok(Arc::clone(&ANONYMOUS));
        }
        if let Some(user) = self.cache.user(kuid) {
            return Ok(user);
        }
        let seen = self.cache.generations();
        let Some(source) = self.store.get(Collection::Users, kuid).await? else {
            return Err(SecurityError::UserNotFound {
                id: kuid.to_owned(),
            });
        };
        let user = Arc::new(parse_stored(
            "user",
            kuid,
            User::from_source(kuid, &source),
        )?);
        self.cache.insert_user(seen, kuid, Arc::clone(&user));
        Ok(user)
    }

    async fn check_user_profiles(&self, user: &User) -> Result<()> {
        for profile_id in &user.profile_ids {
            self.get_profile(profile_id).await?;
        }
        Ok(())
    }

    /// Stores a new user whose profiles all exist.
    ///
    /// # Errors
    ///
    /// [`SecurityError::UserAlreadyExists`] when the kuid is taken (including `-1`),
    /// [`SecurityError::ProfileNotFound`] for an unknown profile. [`SecurityError::Store`] when the
    /// store fails.
    pub async fn create_user(&self, user: &User) -> Result<()> {
        if user.is_anonymous() {
            return Err(SecurityError::UserAlreadyExists {
                id: user.id.clone(),
            });
        }
        check_not_plugin_kuid(&user.id)?;
        self.check_user_profiles(user).await?;
        if !self
            .store
            .create(Collection::Users, &user.id, user.to_source())
            .await?
        {
            return Err(SecurityError::UserAlreadyExists {
                id: user.id.clone(),
            });
        }
        self.invalidate(Invalidation::User(user.id.clone()));
        Ok(())
    }

    /// Stores a user, replacing any user of the same kuid.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidArgument`] for the anonymous kuid,
    /// [`SecurityError::ProfileNotFound`] for an unknown profile. [`SecurityError::Store`] when the
    /// store fails.
    pub async fn create_or_replace_user(&self, user: &User) -> Result<()> {
        if user.is_anonymous() {
            return Err(SecurityError::invalid_argument(
                "_id",
                "the anonymous user `-1` cannot be changed",
            ));
        }
        check_not_plugin_kuid(&user.id)?;
        self.check_user_profiles(user).await?;
        self.store
            .put(Collection::Users, &user.id, user.to_source())
            .await?;
        self.invalidate(Invalidation::User(user.id.clone()));
        Ok(())
    }

    /// Deletes a user document. The caller also deletes the user's credentials and revokes its
    /// tokens ([`crate::TokenManager::revoke_all`]).
    ///
    /// # Errors
    ///
    /// [`SecurityError::UserNotFound`] for an unknown kuid.
    pub async fn delete_user(&self, kuid: &str) -> Result<()> {
        if !self.store.delete(Collection::Users, kuid).await? {
            return Err(SecurityError::UserNotFound {
                id: kuid.to_owned(),
            });
        }
        self.invalidate(Invalidation::User(kuid.to_owned()));
        Ok(())
    }

    /// Returns whether a user with the `admin` profile exists (`server:adminExists`).
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails.
    pub async fn admin_exists(&self) -> Result<bool> {
        let admins = self
            .store
            .search_by_field(Collection::Users, "profileIds", &Value::from("admin"))
            .await?;
        Ok(!admins.is_empty())
    }

    /// Loads a user's profiles and roles into a [`UserRights`].
    ///
    /// A profile or role deleted from under the user is skipped rather than failing the request:
    /// the user only loses the rights it gave.
    ///
    /// # Errors
    ///
    /// [`SecurityError::Store`] when the store fails, [`SecurityError::Internal`] when a stored
    /// document is invalid.
    pub async fn user_rights(&self, user: Arc<User>) -> Result<UserRights> {
        let mut profiles = Vec::with_capacity(user.profile_ids.len());
        let mut roles = HashMap::new();
        for profile_id in &user.profile_ids {
            let profile = match self.get_profile(profile_id).await {
                Ok(profile) => profile,
                Err(SecurityError::ProfileNotFound { .. }) => continue,
                Err(error) => return Err(error),
            };
            for role_id in profile.role_ids() {
                if roles.contains_key(role_id) {
                    continue;
                }
                match self.get_role(role_id).await {
                    Ok(role) => {
                        roles.insert(role_id.to_owned(), role);
                    }
                    Err(SecurityError::RoleNotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            profiles.push((profile_id.clone(), profile));
        }
        Ok(UserRights::new(user, profiles, roles))
    }
}
