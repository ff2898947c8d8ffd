//! The crate's error type, mapped to ids of the Kuzzle v2 error catalogue.

use thiserror::Error;

/// Result alias used across the crate.
pub type Result<T, E = SecurityError> = std::result::Result<T, E>;

/// Every failure of the security layer.
///
/// [`SecurityError::kuzzle_id`] gives the catalogue id (such as `security.token.invalid`), from
/// which the server takes the HTTP status and numeric code. [`SecurityError::props`] gives the
/// values that the message is built from, in the order they appear in it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SecurityError {
    /// The token is malformed, badly signed, unknown to the token registry or revoked.
    #[error("invalid token: {reason}; log in again to get a new token")]
    TokenInvalid { reason: String },

    /// The token was valid but its expiry date has passed.
    #[error("token expired; log in again or refresh the token before it expires")]
    TokenExpired,

    /// The requested token lifetime exceeds the configured maximum.
    #[error(
        "expiresIn `{requested}` exceeds the maximum token lifetime of {max_ttl_ms} ms; \
         request a shorter lifetime"
    )]
    TokenTtlExceeded { requested: String, max_ttl_ms: u64 },

    /// `expiresIn` could not be parsed or is not allowed here.
    #[error("invalid expiresIn `{value}`: {reason}")]
    InvalidExpiration { value: String, reason: String },

    /// The token cannot be refreshed (API keys, tokens without expiry).
    #[error("token refresh rejected: {reason}")]
    RefreshForbidden { reason: String },

    /// Signing a token failed.
    #[error("token generation failed: {reason}")]
    TokenGenerationFailed { reason: String },

    /// The anonymous user lacks the right to run an action.
    #[error("unauthorized action `{controller}:{action}` for anonymous user; log in first")]
    Unauthorized { controller: String, action: String },

    /// A logged-in user lacks the right to run an action.
    #[error(
        "forbidden action `{controller}:{action}` for user `{kuid}`; ask an administrator to \
         grant it through one of the user's profiles"
    )]
    Forbidden {
        controller: String,
        action: String,
        kuid: String,
    },

    /// No user has this id.
    #[error("user `{id}` not found")]
    UserNotFound { id: String },

    /// A user with this id exists already.
    #[error("user `{id}` already exists; choose another id or update the existing user")]
    UserAlreadyExists { id: String },

    /// No role has this id.
    #[error("role `{id}` not found; create it first")]
    RoleNotFound { id: String },

    /// No profile has this id.
    #[error("profile `{id}` not found; create it first")]
    ProfileNotFound { id: String },

    /// One of the bootstrap roles (`admin`, `default`, `anonymous`) cannot be deleted.
    #[error("role `{id}` is a default role and cannot be deleted")]
    RoleCannotDelete { id: String },

    /// One of the bootstrap profiles (`admin`, `default`, `anonymous`) cannot be deleted.
    #[error("profile `{id}` is a default profile and cannot be deleted")]
    ProfileCannotDelete { id: String },

    /// A role is still referenced by a profile.
    #[error("role `{id}` is used by profile `{profile}`; remove it from that profile first")]
    RoleInUse { id: String, profile: String },

    /// A profile is still assigned to a user.
    #[error("profile `{id}` is assigned to user `{user}`; remove it from that user first")]
    ProfileInUse { id: String, user: String },

    /// The `anonymous` profile must keep a policy with the `anonymous` role.
    #[error(
        "profile `anonymous` must contain a policy with role `anonymous`; add \
         `{{\"roleId\": \"anonymous\"}}` to its policies"
    )]
    MissingAnonymousRole,

    /// A role definition is malformed.
    #[error("invalid rights in role `{role}`: {reason}")]
    InvalidRights { role: String, reason: String },

    /// A role names a controller that the server does not know.
    #[error(
        "role `{role}` names unknown controller `{controller}`; fix the name or use `force` to \
         store it anyway"
    )]
    UnknownController { role: String, controller: String },

    /// A role names an action that its controller does not have.
    #[error(
        "role `{role}` names unknown action `{controller}:{action}`; fix the name or use `force` \
         to store it anyway"
    )]
    UnknownAction {
        role: String,
        controller: String,
        action: String,
    },

    /// No API key of this user has this id.
    #[error("API key `{id}` of user `{kuid}` not found")]
    ApiKeyNotFound { id: String, kuid: String },

    /// An API key with this id exists already.
    #[error("API key `{id}` already exists; choose another id or omit it")]
    ApiKeyAlreadyExists { id: String },

    /// A request argument or a document body is invalid (profiles, users, targets).
    #[error("invalid argument `{argument}`: {reason}")]
    InvalidArgument { argument: String, reason: String },

    /// The requested authentication strategy is not registered.
    #[error("unknown authentication strategy `{strategy}`")]
    UnknownStrategy { strategy: String },

    /// A strategy rejected the credentials given to create, update or validate them.
    #[error("credentials rejected by strategy `{strategy}`: {reason}")]
    CredentialsRejected { strategy: String, reason: String },

    /// Login failed. The same error covers an unknown username and a wrong password.
    #[error("wrong username or password")]
    WrongCredentials,

    /// The user exceeded the request rate limit of its profiles.
    #[error("too many requests for user `{kuid}`: the limit is {limit} per second; retry later")]
    TooManyRequests { kuid: String, limit: u32 },

    /// A connection exceeded the login rate limit.
    #[error("too many login requests: the limit is {limit} per second per connection")]
    TooManyLogins { limit: u32 },

    /// The [`crate::store::SecurityStore`] failed.
    #[error("security store failed: {0}")]
    Store(String),

    /// An internal invariant was broken (a stored document could not be read back, for example).
    #[error("internal security error: {0}")]
    Internal(String),
}

impl SecurityError {
    /// Returns the id of the Kuzzle error catalogue entry this error maps to.
    pub fn kuzzle_id(&self) -> &'static str {
        match self {
            Self::TokenInvalid { .. } => "security.token.invalid",
            Self::TokenExpired => "security.token.expired",
            Self::TokenTtlExceeded { .. } => "security.token.ttl_exceeded",
            Self::InvalidExpiration { .. } => "security.token.invalid_expiration",
            Self::RefreshForbidden { .. } => "security.token.refresh_forbidden",
            Self::TokenGenerationFailed { .. } => "security.token.generation_failed",
            Self::Unauthorized { .. } => "security.rights.unauthorized",
            Self::Forbidden { .. } => "security.rights.forbidden",
            Self::UserNotFound { .. } => "security.user.not_found",
            Self::UserAlreadyExists { .. } => "security.user.already_exists",
            Self::RoleNotFound { .. } => "security.role.not_found",
            Self::ProfileNotFound { .. } => "security.profile.not_found",
            Self::RoleCannotDelete { .. } => "security.role.cannot_delete",
            Self::ProfileCannotDelete { .. } => "security.profile.cannot_delete",
            Self::RoleInUse { .. } => "security.role.in_use",
            Self::ProfileInUse { .. } => "security.profile.in_use",
            Self::MissingAnonymousRole => "security.profile.missing_anonymous_role",
            Self::InvalidRights { .. } => "security.role.invalid_rights",
            Self::UnknownController { .. } => "security.role.unknown_controller",
            Self::UnknownAction { .. } => "security.role.unknown_action",
            Self::ApiKeyNotFound { .. } => "services.storage.not_found",
            Self::ApiKeyAlreadyExists { .. } => "services.storage.document_already_exists",
            Self::InvalidArgument { .. } => "api.assert.invalid_argument",
            Self::UnknownStrategy { .. } => "security.credentials.unknown_strategy",
            Self::CredentialsRejected { .. } => "security.credentials.rejected",
            Self::WrongCredentials => "plugin.strategy.missing_user",
            Self::TooManyRequests { .. } => "api.process.too_many_requests",
            Self::TooManyLogins { .. } => "api.process.too_many_logins_requests",
            Self::Store(_) => "services.storage.unexpected_error",
            Self::Internal(_) => "core.fatal.unexpected_error",
        }
    }

    /// Returns the values the message is built from, in message order.
    pub fn props(&self) -> Vec<String> {
        match self {
            Self::TokenInvalid { reason } => vec![reason.clone()],
            Self::TokenExpired | Self::WrongCredentials | Self::MissingAnonymousRole => Vec::new(),
            Self::TokenTtlExceeded {
                requested,
                max_ttl_ms,
            } => vec![requested.clone(), max_ttl_ms.to_string()],
            Self::InvalidExpiration { value, reason } => vec![value.clone(), reason.clone()],
            Self::RefreshForbidden { reason } | Self::TokenGenerationFailed { reason } => {
                vec![reason.clone()]
            }
            Self::Unauthorized { controller, action } => vec![controller.clone(), action.clone()],
            Self::Forbidden {
                controller,
                action,
                kuid,
            } => vec![controller.clone(), action.clone(), kuid.clone()],
            Self::UserNotFound { id }
            | Self::UserAlreadyExists { id }
            | Self::RoleNotFound { id }
            | Self::ProfileNotFound { id }
            | Self::RoleCannotDelete { id }
            | Self::ProfileCannotDelete { id } => vec![id.clone()],
            Self::RoleInUse { id, profile } => vec![id.clone(), profile.clone()],
            Self::ProfileInUse { id, user } => vec![id.clone(), user.clone()],
            Self::InvalidRights { role, reason } => vec![role.clone(), reason.clone()],
            Self::UnknownController { role, controller } => vec![role.clone(), controller.clone()],
            Self::UnknownAction {
                role,
                controller,
                action,
            } => vec![role.clone(), controller.clone(), action.clone()],
            Self::ApiKeyNotFound { id, kuid } => vec![id.clone(), kuid.clone()],
            Self::ApiKeyAlreadyExists { id } => vec![id.clone()],
            Self::InvalidArgument { argument, reason } => vec![argument.clone(), reason.clone()],
            Self::UnknownStrategy { strategy } => vec![strategy.clone()],
            Self::CredentialsRejected { strategy, reason } => {
                vec![strategy.clone(), reason.clone()]
            }
            Self::TooManyRequests { kuid, limit } => vec![kuid.clone(), limit.to_string()],
            Self::TooManyLogins { limit } => vec![limit.to_string()],
            Self::Store(message) | Self::Internal(message) => vec![message.clone()],
        }
    }

    pub(crate) fn invalid_token(reason: impl Into<String>) -> Self {
        Self::TokenInvalid {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_argument(argument: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            argument: argument.into(),
            reason: reason.into(),
        }
    }
}
