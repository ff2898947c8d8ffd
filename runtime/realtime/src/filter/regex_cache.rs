//! Compiled regular expressions shared between the `regexp` conditions that use the same one.
//!
//! Compiling an expression took about 20 microseconds in profiles of the realtime-vs-koncorde
//! benchmark, more than the rest of a filter's registration, and subscriptions often repeat
//! one.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};

use regex::{Regex, RegexBuilder};

/// Minimum number of entries before dead ones are swept.
const MIN_SWEEP: usize = 1024;

/// Expressions by pattern and flags. Entries are weak, so an expression is freed with the
/// last condition that uses it. Dead entries are swept whenever the map has doubled since
/// the last sweep, which keeps it within twice the live expressions plus `MIN_SWEEP`.
#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<(String, String), Weak<Regex>>,
    sweep_at: usize,
}

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

fn lock() -> MutexGuard<'static, Cache> {
    // The map stays consistent even if a holder panicked: every change is one insert or
    // one retain.
    CACHE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Returns the compiled expression of `pattern`, in the `regex` crate's syntax, with the
/// JavaScript flags `i`, `m` and `s` found in `flags`. Compiles it only when no live
/// condition already uses the same one.
///
/// # Errors
///
/// Returns the `regex` crate's error when the pattern does not compile.
pub fn compile(pattern: &str, flags: &str) -> Result<Arc<Regex>, regex::Error> {
    let key = (pattern.to_owned(), flags.to_owned());
    if let Some(regex) = lock().entries.get(&key).and_then(Weak::upgrade) {
        return Ok(regex);
    }

    // Compiled outside the lock, so concurrent registrations do not wait on each other. Two
    // threads may compile the same expression; the later insert wins and both results work.
    let regex = RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .build()?;
    let regex = Arc::new(regex);

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
