//! Naming rules for indexes and collections, the same as Kuzzle's Elasticsearch service.

use crate::error::{Result, StorageError};

/// Maximum length of an index or collection name, in bytes.
pub const MAX_NAME_BYTES: usize = 126;

/// Prefix of internal indexes (users, profiles, roles), hidden from the public index list.
pub const INTERNAL_PREFIX: char = '%';

const FORBIDDEN: &[char] = &[
    '\\', '/', '*', '?', '"', '<', '>', '|', ' ', '\t', '\r', '\n', ',', '+', '#', ':', '.', '&',
    '%',
];

/// Checks an index name; `%name` is accepted only when `allow_internal` is set.
///
/// # Errors
///
/// [`StorageError::InvalidIndexName`] naming the value and the broken rule.
pub fn validate_index_name(name: &str, allow_internal: bool) -> Result<()> {
    let bare = match name.strip_prefix(INTERNAL_PREFIX) {
        Some(rest) if allow_internal => rest,
        _ => name,
    };
    check_name(bare).map_err(|reason| StorageError::InvalidIndexName {
        name: name.to_owned(),
        reason,
    })
}

/// Checks a collection name.
///
/// # Errors
///
/// [`StorageError::InvalidCollectionName`] naming the value and the broken rule.
pub fn validate_collection_name(name: &str) -> Result<()> {
    check_name(name).map_err(|reason| StorageError::InvalidCollectionName {
        name: name.to_owned(),
        reason,
    })
}

/// Returns whether an index is internal, so hidden from the public index list.
pub fn is_internal_index(name: &str) -> bool {
    name.starts_with(INTERNAL_PREFIX)
}

fn check_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return Err("the name is longer than 126 bytes");
    }
    if name == "_all" {
        return Err("`_all` is reserved");
    }
    if name.chars().any(|c| c.is_uppercase()) {
        return Err("the name must be lowercase");
    }
    if name.contains(FORBIDDEN) {
        return Err("the name contains one of \\ / * ? \" < > | , + # : . & % or a whitespace");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_pass() {
        for name in ["nyc-open-data", "yellow_taxi", "a", &"x".repeat(126)] {
            assert!(validate_collection_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn invalid_names_fail() {
        let long = "x".repeat(127);
        for name in [
            "", "_all", "Upper", "a b", "a.b", "a%b", "a:b", "a,b", "a\nb", &long,
        ] {
            assert!(validate_collection_name(name).is_err(), "{name:?}");
            assert!(validate_index_name(name, true).is_err(), "{name:?}");
        }
    }

    #[test]
    fn internal_prefix_needs_permission() {
        assert!(validate_index_name("%kuzzle", true).is_ok());
        assert!(validate_index_name("%kuzzle", false).is_err());
        assert!(validate_index_name("%", true).is_err());
        assert!(is_internal_index("%kuzzle"));
    }
}
