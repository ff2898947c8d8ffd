//! Regular expressions shared between the `regexp` conditions that use the same one.
//!
//! Subscriptions often repeat an expression, and sharing it saves both its validation at
//! registration and its compilation on the first test (see `LazyRegex`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};

use super::lazy_regex::LazyRegex;

/// Minimum number of entries before dead ones are swept.
const MIN_SWEEP: usize = 1024;

/// Expressions by pattern and flags. Entries are weak, so an expression is freed with the
/// last condition that uses it. Dead entries are swept whenever the map has doubled since
/// the last sweep, which keeps it within twice the live expressions plus `MIN_SWEEP`.
#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<(String, String), Weak<LazyRegex>>,
    sweep_at: usize,
}

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

fn lock() -> MutexGuard<'static, Cache> {
    // The map stays consistent even if a holder panicked: every change is one insert or
    // one retain.
    CACHE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Returns the expression of `pattern`, in the `regex` crate's syntax, with the JavaScript
/// flags `i`, `m` and `s` found in `flags`. Validates it only when no live condition already
/// uses the same one.
///
/// # Errors
///
/// Returns the `regex` crate's error message when the pattern does not compile.
pub fn compile(pattern: &str, flags: &str) -> Result<Arc<LazyRegex>, String> {
    let key = (pattern.to_owned(), flags.to_owned());
    if let Some(regex) = lock().entries.get(&key).and_then(Weak::upgrade) {
        return Ok(regex);
    }

    // Validated outside the lock, so concurrent registrations do not wait on each other. Two
    // threads may validate the same expression; the later insert wins and both results work.
    let regex = Arc::new(LazyRegex::new(pattern, flags)?);

    let mut cache = lock();
    cache.entries.insert(key, Arc::downgrade(&regex));
    if cache.entries.len() >= cache.sweep_at {
        cache.entries.retain(|_, weak| weak.strong_count() > 0);
        cache.sweep_at = (2 * cache.entries.len()).max(MIN_SWEEP);
    }
    Ok(regex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_pattern_and_flags_share() {
        let first = compile("^shared-[0-9]+$", "i").unwrap();
        let second = compile("^shared-[0-9]+$", "i").unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert!(second.is_match("SHARED-12"));
    }

    #[test]
    fn other_flags_compile_apart() {
        let insensitive = compile("^apart$", "i").unwrap();
        let sensitive = compile("^apart$", "").unwrap();
        assert!(!Arc::ptr_eq(&insensitive, &sensitive));
        assert!(insensitive.is_match("APART"));
        assert!(!sensitive.is_match("APART"));
    }

    #[test]
    fn freed_expression_is_not_kept() {
        let first = compile("^freed$", "").unwrap();
        drop(first);
        // A sweep run by another test may already have removed the entry.
        let entry = lock()
            .entries
            .get(&("^freed$".into(), String::new()))
            .cloned();
        assert!(entry.is_none_or(|weak| weak.upgrade().is_none()));
        let again = compile("^freed$", "").unwrap();
        assert!(again.is_match("freed"));
    }

    #[test]
    fn invalid_pattern_fails() {
        assert!(compile("[", "").is_err());
    }
}
