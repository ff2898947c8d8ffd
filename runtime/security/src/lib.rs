//! Users, profiles, roles, rights, tokens, API keys and the local strategy of Palisade,
//! compatible with the Kuzzle v2 security model.
//!
//! The crate has no server dependency. It persists through [`SecurityStore`], which the server
//! implements over its document store, and caches roles, profiles and users in memory, with
//! [`InvalidationBus`] to relay cache invalidations across a cluster.
//!
//! A request's path through the crate: [`TokenManager::authenticate`] turns the request's token
//! into a kuid, [`Security::get_user`] and [`Security::user_rights`] load the user's rights,
//! [`RateLimiter::check`] applies the rate limit, and [`UserRights::check`] decides the
//! controller action.

pub mod cache;
pub mod clock;
pub mod error;
pub mod local;
pub mod model;
pub mod rate_limit;
pub mod rights;
pub mod service;
pub mod store;
pub mod strategy_credentials;
pub mod token;

pub use cache::{Invalidation, InvalidationBus, LocalBus, SecurityCache};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Result, SecurityError};
pub use local::{ArgonCost, LocalCredentials, LocalStrategy, PasswordHasher, StoredCredentials};
pub use model::profile::{Policy, Profile, Restriction};
pub use model::role::{KnownActions, Role};
pub use model::user::{ANONYMOUS_KUID, PLUGIN_KUID_PREFIX, User};
pub use rate_limit::{LoginLimiter, RateLimiter};
pub use rights::{RightEntry, Target, UserRights};
pub use service::Security;
pub use store::{Collection, MemoryStore, SecurityStore, StoredDocument};
pub use strategy_credentials::{StrategyCredentials, StrategyCredentialsStore};
pub use token::{
    ApiKey, AuthToken, CheckTokenResult, ExpiresIn, TokenConfig, TokenKind, TokenManager,
};
