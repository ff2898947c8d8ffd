//! `_source` filtering: which fields of each hit's source are returned.

use serde_json::{Map, Value};

use crate::error::{Result, StorageError};

/// A `_source` option: disabled, or include and exclude patterns (`*` wildcards allowed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceFilter {
    pub disabled: bool,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

impl SourceFilter {
    /// Parses `false`, `"field"`, `["a", "b.*"]` or `{includes, excludes}`.
    ///
    /// # Errors
    ///
    /// [`StorageError::InvalidSearchQuery`] for any other shape.
    pub fn parse(value: &Value) -> Result<Self> {
        let mut filter = Self::default();
        match value {
            Value::Bool(enabled) => filter.disabled = !enabled,
            Value::String(_) | Value::Array(_) => filter.includes = patterns(value)?,
            Value::Object(map) => {
                if let Some(includes) = map.get("includes").or_else(|| map.get("include")) {
                    filter.includes = patterns(includes)?;
                }
                if let Some(excludes) = map.get("excludes").or_else(|| map.get("exclude")) {
                    filter.excludes = patterns(excludes)?;
                }
            }
            _ => {
                return Err(StorageError::query(
                    "`_source` must be a boolean, string, array or object",
                ));
            }
        }
        Ok(filter)
    }

    /// Returns the filtered source, or `None` when `_source` is disabled.
    pub fn apply(&self, source: &Value) -> Option<Value> {
        if self.disabled {
            return None;
        }
        if self.includes.is_empty() && self.excludes.is_empty() {
            return Some(source.clone());
        }
        let object = source.as_object()?;
        Some(Value::Object(self.filter_object(object, "")))
    }

    /// Filters a source the caller no longer needs, moving it when nothing is filtered out.
    pub fn apply_owned(&self, source: Value) -> Option<Value> {
        if !self.disabled && self.includes.is_empty() && self.excludes.is_empty() {
            return Some(source);
        }
        self.apply(&source)
    }

    fn filter_object(&self, object: &Map<String, Value>, prefix: &str) -> Map<String, Value> {
        let mut kept = Map::new();
        for (key, value) in object {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if self.excludes.iter().any(|pattern| matches(pattern, &path)) {
                continue;
            }
            let included = self.includes.is_empty()
                || self.includes.iter().any(|pattern| matches(pattern, &path));
            if included && self.excludes.is_empty() {
                kept.insert(key.clone(), value.clone());
                continue;
            }
            if let Some(partial) = self.filter_nested(value, &path, included) {
                kept.insert(key.clone(), partial);
            }
        }
        kept
    }

    /// Filters inside objects and arrays of objects; keeps an included scalar as it is.
    fn filter_nested(&self, value: &Value, path: &str, included: bool) -> Option<Value> {
        match value {
            Value::Object(child) => {
                let partial = self.filter_object(child, path);
                (included || !partial.is_empty()).then_some(Value::Object(partial))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|item| self.filter_nested(item, path, included))
                    .collect();
                (included || !kept.is_empty()).then_some(Value::Array(kept))
            }
            scalar => included.then(|| scalar.clone()),
        }
    }
}

fn patterns(value: &Value) -> Result<Vec<String>> {
    match value {
        Value::String(pattern) => Ok(vec![pattern.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StorageError::query("`_source` patterns must be strings")),
        _ => Err(StorageError::query(
            "`_source` patterns must be a string or an array",
        )),
    }
}

/// Matches a path against a pattern; a pattern also matches everything under its path.
fn matches(pattern: &str, path: &str) -> bool {
    if wildcard_match(pattern.as_bytes(), path.as_bytes()) {
        return true;
    }
    path.strip_prefix(pattern)
        .is_some_and(|rest| rest.starts_with('.'))
}

fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| wildcard_match(rest, &text[skip..])),
        Some((first, rest)) => text.first() == Some(first) && wildcard_match(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn includes_and_excludes() {
        let source = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4});
        let filter = SourceFilter::parse(&json!({"includes": ["a", "b.*"], "excludes": ["b.d"]}));
        let filtered = filter.unwrap().apply(&source).unwrap();
        assert_eq!(filtered, json!({"a": 1, "b": {"c": 2}}));
        let only_b = SourceFilter::parse(&json!("b"))
            .unwrap()
            .apply(&source)
            .unwrap();
        assert_eq!(only_b, json!({"b": {"c": 2, "d": 3}}));
        assert_eq!(
            SourceFilter::parse(&json!(false)).unwrap().apply(&source),
            None
        );
    }
}
