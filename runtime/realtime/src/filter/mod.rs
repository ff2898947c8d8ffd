//! The Koncorde filter language: validation, leaf conditions and canonical normal form.

mod condition;
mod lazy_regex;
mod normalize;
mod parse;
mod regex_cache;

pub use condition::{Bound, Condition, ConditionKind, in_range};
pub use lazy_regex::LazyRegex;
pub use normalize::{Literal, Normalized};
pub use parse::ParseOptions;

#[cfg(test)]
mod keyword_tests;
