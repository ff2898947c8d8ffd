//! A regular expression validated when a filter is registered and compiled on its first test.
//!
//! Compiling with the `regex` crate took about 20 microseconds per expression in profiles of
//! the realtime-vs-koncorde benchmark, most of a `regexp` filter's registration, while parsing
//! alone is a fraction of that. Many registered expressions are never tested, or only long
//! after their registration, so the compilation waits for the first test.

use std::fmt;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use regex_syntax::ParserBuilder;
use regex_syntax::ast::parse::Parser as AstParser;

/// Maximum length, in bytes, of a pattern whose compilation may wait for the first test.
///
/// Parsing finds every syntax error, but only compiling finds a pattern whose automaton goes
/// over the `regex` crate's size limit. A pattern this short and without a counted repetition
/// (`{n}`, `{n,m}`) stays far below that limit even when made only of the largest Unicode
/// classes, which `lazy_pattern_within_limit` checks. Longer patterns compile at registration,
/// so that the size error still rejects the filter.
const LAZY_MAX_LEN: usize = 64;

/// Size limit of a lazily compiled expression, in bytes. It is larger than the `regex`
/// crate's default (10 MiB in regex 1.13), which leaves a margin over what
/// `lazy_pattern_within_limit` checks, and it still bounds the memory of one lazy build.
const LAZY_SIZE_LIMIT: usize = 64 << 20;

/// Compilation options taken from the JavaScript flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Options {
    case_insensitive: bool,
    multi_line: bool,
    dot_matches_new_line: bool,
}

impl Options {
    fn from_flags(flags: &str) -> Self {
        Self {
            case_insensitive: flags.contains('i'),
            multi_line: flags.contains('m'),
            dot_matches_new_line: flags.contains('s'),
        }
    }

    fn builder(self, pattern: &str) -> RegexBuilder {
        let mut builder = RegexBuilder::new(pattern);
        builder
            .case_insensitive(self.case_insensitive)
            .multi_line(self.multi_line)
            .dot_matches_new_line(self.dot_matches_new_line);
        builder
    }
}

/// A regular expression in the `regex` crate's syntax whose syntax is known to be valid.
pub struct LazyRegex {
    pattern: String,
    options: Options,
    compiled: OnceLock<Regex>,
}

impl LazyRegex {
    /// Validates `pattern` with the JavaScript flags `i`, `m` and `s` found in `flags`.
    /// Compiles it now when it is too long or has a counted repetition, and otherwise on the
    /// first call to [`LazyRegex::is_match`].
    ///
    /// # Errors
    ///
    /// Returns the `regex` crate's error message for the same pattern and flags.
    pub fn new(pattern: &str, flags: &str) -> Result<Self, String> {
        let options = Options::from_flags(flags);
        let lazy = LazyRegex {
            pattern: pattern.to_owned(),
            options,
            compiled: OnceLock::new(),
        };
        if !may_compile_later(pattern) {
            let regex = options
                .builder(pattern)
                .build()
                .map_err(|e| e.to_string())?;
            let _ = lazy.compiled.set(regex);
            return Ok(lazy);
        }

        validate(pattern, options)?;
        Ok(lazy)
    }

    /// Tests whether `text` contains a match, compiling the expression first if needed.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled().is_match(text)
    }

    fn compiled(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            // `new` parsed this pattern with the same options, and `lazy_pattern_within_limit`
            // checks that patterns allowed by `may_compile_later` compile under the default
            // size limit, which is 6 times smaller than `LAZY_SIZE_LIMIT`.
            self.options
                .builder(&self.pattern)
                .size_limit(LAZY_SIZE_LIMIT)
                .build()
                .expect("a validated short pattern compiles")
        })
    }
}

impl fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyRegex")
            .field("pattern", &self.pattern)
            .field("options", &self.options)
            .field("compiled", &self.compiled.get().is_some())
            .finish()
    }
}

/// Returns the error the `regex` crate reports for `pattern`, if any, without compiling it.
///
/// The `regex` crate parses with these same defaults (Unicode on, nesting limit 250) and
/// reports a syntax error as this error's text. Parsing builds the syntax tree, then
/// translates it. In regex-syntax 0.8, translation fails only on a Unicode property (`\p`,
/// `\P`), on a group that clears the `u` flag (`(?-u)`), or when a Unicode feature of the
/// crate is disabled, which this crate does not do. Patterns with neither `\p`, `\P` nor `(?`
/// therefore skip the translation, about 2 of the 2.8 µs that parsing took per `regexp`
/// pattern of the realtime-vs-koncorde benchmark.
fn validate(pattern: &str, options: Options) -> Result<(), String> {
    let needs_translation =
        pattern.contains("\\p") || pattern.contains("\\P") || pattern.contains("(?");
    if !needs_translation {
        return AstParser::new()
            .parse(pattern)
            .map(drop)
            .map_err(|e| e.to_string());
    }

    ParserBuilder::new()
        .case_insensitive(options.case_insensitive)
        .multi_line(options.multi_line)
        .dot_matches_new_line(options.dot_matches_new_line)
        .build()
        .parse(pattern)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Tells whether the pattern's automaton is small enough to build after registration. Any
/// `{` counts as a possible counted repetition, which also sends `\p{..}` classes down the
/// eager path.
fn may_compile_later(pattern: &str) -> bool {
    pattern.len() <= LAZY_MAX_LEN && !pattern.contains('{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_pattern_compiles_on_first_test() {
        let regex = LazyRegex::new("^v12[0-9]$", "i").unwrap();
        assert!(regex.compiled.get().is_none());
        assert!(regex.is_match("V123"));
        assert!(regex.compiled.get().is_some());
        assert!(!regex.is_match("v12"));
    }

    #[test]
    fn counted_repetition_compiles_at_once() {
        let regex = LazyRegex::new("^a{2,3}$", "").unwrap();
        assert!(regex.compiled.get().is_some());
        assert!(regex.is_match("aaa"));
        assert!(!regex.is_match("aaaa"));
    }

    #[test]
    fn syntax_error_matches_regex_crate() {
        let cases = [
            ("[", ""),
            ("a)", "i"),
            ("x{2,1}", ""),
            ("\\pQ", ""),
            ("\\PQ", "i"),
            ("\\p{Nope}", ""),
            ("(?z)", ""),
            ("(?-u)\\xFF", ""),
            ("(?-u:\\W)", ""),
            ("(((((((((((((((((((((((((((((((((((((((((((((((((((((a", ""),
        ];
        for (pattern, flags) in cases {
            let expected = RegexBuilder::new(pattern)
                .case_insensitive(flags.contains('i'))
                .build()
                .unwrap_err()
                .to_string();
            let actual = LazyRegex::new(pattern, flags).unwrap_err();
            assert_eq!(actual, expected, "pattern {pattern:?}");
        }
    }

    #[test]
    fn oversized_pattern_rejected_at_registration() {
        let error = LazyRegex::new("\\w{1000}{1000}", "").unwrap_err();
        assert!(error.contains("size limit"), "{error}");
    }

    #[test]
    fn lazy_pattern_within_limit() {
        // The largest classes per byte of pattern, repeated up to the lazy length bound, must
        // compile under the `regex` crate's default size limit, not only under the raised one.
        for atom in ["\\w", "\\W", "\\pL", "[^a]", ".", "\\b\\w"] {
            let pattern = atom.repeat(LAZY_MAX_LEN / atom.len());
            assert!(may_compile_later(&pattern));
            for flags in ["", "i", "is"] {
                let built = Options::from_flags(flags).builder(&pattern).build();
                assert!(
                    built.is_ok(),
                    "pattern {pattern:?} flags {flags:?}: {built:?}"
                );
            }
        }
    }
}
