//! The crate's error type and the Kuzzle catalogue id of each variant.

use thiserror::Error;

/// Errors raised by filter validation, subscriptions and notifications.
///
/// Each variant maps to one Kuzzle error catalogue id through [`RealtimeError::kuzzle_id`], so a
/// server can turn it into the API error object without matching on variants.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RealtimeError {
    /// The filter is not valid Koncorde syntax.
    #[error("invalid filter at `{path}`: {message}")]
    InvalidFilter {
        /// Dotted position of the bad part in the filter, starting with its keyword.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// The filter holds more conditions than the configured maximum.
    #[error(
        "filter too complex: {count} conditions exceed the maximum of {max}; split the \
         subscription or raise `limits.subscriptionConditionsCount`"
    )]
    TooManyConditions {
        /// Conditions counted in the filter.
        count: usize,
        /// Configured maximum.
        max: usize,
    },

    /// The filter's disjunctive normal form has more subfilters than the engine accepts.
    #[error(
        "filter too complex: its normal form has more than {max} subfilters; use fewer nested \
         `or` inside `and`"
    )]
    TooManySubfilters {
        /// Maximum number of subfilters of one filter.
        max: usize,
    },

    /// The `scope` argument is not one of `all`, `in`, `out`, `none`.
    #[error("invalid scope `{0}`: expected one of `all`, `in`, `out`, `none`")]
    InvalidScope(String),

    /// The `users` argument is not one of `all`, `in`, `out`, `none`.
    #[error("invalid users value `{0}`: expected one of `all`, `in`, `out`, `none`")]
    InvalidUsers(String),

    /// No room has this id.
    #[error("room `{0}` not found; subscribe with a filter to create it")]
    RoomNotFound(String),

    /// The connection is not subscribed to this room.
    #[error("connection is not subscribed to room `{0}`")]
    NotSubscribed(String),

    /// Creating one more room would exceed the configured maximum.
    #[error(
        "too many rooms: the maximum of {0} is reached; raise `limits.subscriptionRooms` or \
         reuse an existing filter"
    )]
    TooManyRooms(usize),
}

impl RealtimeError {
    /// Returns the Kuzzle error catalogue id (`domain.subdomain.error`) for this error.
    pub fn kuzzle_id(&self) -> &'static str {
        match self {
            Self::InvalidFilter { .. }
            | Self::TooManyConditions { .. }
            | Self::TooManySubfilters { .. } => "api.assert.koncorde_dsl_error",
            Self::InvalidScope(_) => "core.realtime.invalid_scope",
            Self::InvalidUsers(_) => "core.realtime.invalid_users",
            Self::RoomNotFound(_) => "core.realtime.room_not_found",
            Self::NotSubscribed(_) => "core.realtime.not_subscribed",
            Self::TooManyRooms(_) => "core.realtime.too_many_rooms",
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidFilter {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = RealtimeError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_ids() {
        let cases = [
            (
                RealtimeError::invalid("equals", "x"),
                "api.assert.koncorde_dsl_error",
            ),
            (
                RealtimeError::TooManyConditions { count: 2, max: 1 },
                "api.assert.koncorde_dsl_error",
            ),
            (
                RealtimeError::InvalidScope("x".into()),
                "core.realtime.invalid_scope",
            ),
            (
                RealtimeError::InvalidUsers("x".into()),
                "core.realtime.invalid_users",
            ),
            (
                RealtimeError::RoomNotFound("r".into()),
                "core.realtime.room_not_found",
            ),
            (
                RealtimeError::NotSubscribed("r".into()),
                "core.realtime.not_subscribed",
            ),
            (
                RealtimeError::TooManyRooms(1),
                "core.realtime.too_many_rooms",
            ),
        ];
        for (error, id) in cases {
            assert_eq!(error.kuzzle_id(), id, "{error}");
        }
    }

    #[test]
    fn messages_name_the_value() {
        let message = RealtimeError::InvalidScope("sideways".into()).to_string();
        assert!(message.contains("`sideways`"), "{message}");
    }
}
