//! Channels: how one subscriber of a room wants its notifications.

use crate::error::{RealtimeError, Result};

/// Which document notifications a channel receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// Documents entering and leaving the filter.
    #[default]
    All,
    /// Documents entering or staying in the filter.
    In,
    /// Documents leaving the filter.
    Out,
    /// No document notification.
    None,
}

/// Which user notifications (subscribers joining or leaving) a channel receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Users {
    /// Joining and leaving.
    All,
    /// Joining only.
    In,
    /// Leaving only.
    Out,
    /// None.
    #[default]
    None,
}

impl Scope {
    /// Parses the `scope` argument; absent means `all`.
    ///
    /// # Errors
    ///
    /// Returns [`RealtimeError::InvalidScope`] for any other value.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("all") => Ok(Self::All),
            Some("in") => Ok(Self::In),
            Some("out") => Ok(Self::Out),
            Some("none") => Ok(Self::None),
            Some(other) => Err(RealtimeError::InvalidScope(other.to_owned())),
        }
    }

    /// Returns true when a document notification of this scope (`In` or `Out`) is delivered.
    pub fn accepts(self, notification: Scope) -> bool {
        self == Self::All || self == notification
    }

    /// Returns the API name: `all`, `in`, `out` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::In => "in",
            Self::Out => "out",
            Self::None => "none",
        }
    }
}

impl Users {
    /// Parses the `users` argument; absent means `none`.
    ///
    /// # Errors
    ///
    /// Returns [`RealtimeError::InvalidUsers`] for any other value.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("none") => Ok(Self::None),
            Some("all") => Ok(Self::All),
            Some("in") => Ok(Self::In),
            Some("out") => Ok(Self::Out),
            Some(other) => Err(RealtimeError::InvalidUsers(other.to_owned())),
        }
    }

    /// Returns true when a user notification of this kind (`In` or `Out`) is delivered.
    pub fn accepts(self, notification: Users) -> bool {
        self == Self::All || (self != Self::None && self == notification)
    }
}

/// Builds a channel name: `<roomId>-<users><cluster><scope>`, with users all=1, in=2,
/// out=3, none=3; cluster propagation on=1, off=2; scope all=1, in=2, out=3, and no digit for
/// scope `none`. These are Kuzzle 2's names; `out` and `none` users share a digit there too.
pub fn channel_name(room_id: &str, scope: Scope, users: Users, propagate: bool) -> String {
    let users = match users {
        Users::All => "1",
        Users::In => "2",
        Users::Out | Users::None => "3",
    };
    let cluster = if propagate { "1" } else { "2" };
    let scope = match scope {
        Scope::All => "1",
        Scope::In => "2",
        Scope::Out => "3",
        Scope::None => "",
    };
    format!("{room_id}-{users}{cluster}{scope}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_channel_name() {
        let name = channel_name("r", Scope::default(), Users::default(), true);
        assert_eq!(name, "r-311");
    }

    #[test]
    fn channel_digits() {
        assert_eq!(channel_name("r", Scope::In, Users::All, true), "r-112");
        assert_eq!(channel_name("r", Scope::Out, Users::In, false), "r-223");
        assert_eq!(channel_name("r", Scope::None, Users::Out, true), "r-31");
    }

    #[test]
    fn parse_rejects_unknown_values() {
        assert_eq!(Scope::parse(Some("in")), Ok(Scope::In));
        assert_eq!(Users::parse(None), Ok(Users::None));
        assert_eq!(
            Scope::parse(Some("sideways")),
            Err(RealtimeError::InvalidScope("sideways".into()))
        );
        assert_eq!(
            Users::parse(Some("some")),
            Err(RealtimeError::InvalidUsers("some".into()))
        );
    }

    #[test]
    fn acceptance() {
        assert!(Scope::All.accepts(Scope::Out));
        assert!(!Scope::In.accepts(Scope::Out));
        assert!(!Scope::None.accepts(Scope::In));
        assert!(Users::All.accepts(Users::In));
        assert!(!Users::None.accepts(Users::None));
        assert!(Users::Out.accepts(Users::Out));
    }
}
