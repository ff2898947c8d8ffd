//! Validation of Koncorde filters and their rewriting into a tree of `and`, `or`, `not` and
//! leaf conditions.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::condition::{Bound, Condition, ConditionKind};
use super::normalize::Normalized;
use crate::error::{RealtimeError, Result};
use crate::json::Scalar;

mod geo;

/// A validated filter before normalization.
#[derive(Debug, Clone)]
pub enum Expr {
    /// Every child is true.
    And(Vec<Expr>),
    /// At least one child is true.
    Or(Vec<Expr>),
    /// The child is false.
    Not(Box<Expr>),
    /// A leaf condition.
    Leaf(Condition),
}

/// Settings that validation needs.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Maximum number of leaf conditions; 0 disables the check.
    pub max_conditions: usize,
    /// Maximum number of subfilters in the normal form.
    pub max_subfilters: usize,
}

/// Parses a filter. Returns `None` for the empty filter `{}` (or `null`), which matches every
/// document.
///
/// # Errors
///
/// Returns [`RealtimeError::InvalidFilter`] naming the bad keyword or value.
pub fn parse(filter: &Value, options: ParseOptions) -> Result<Option<Expr>> {
    match filter {
        Value::Null => Ok(None),
        Value::Object(map) if map.is_empty() => Ok(None),
        Value::Object(_) => Parser { options }.filter(filter, None).map(Some),
        other => Err(RealtimeError::invalid(
            "",
            format!("expected an object, got `{other}`"),
        )),
    }
}

struct Parser {
    options: ParseOptions,
}

const KEYWORDS: &[&str] = &[
    "and",
    "bool",
    "equals",
    "exists",
    "geoBoundingBox",
    "geoDistance",
    "geoDistanceRange",
    "geoPolygon",
    "ids",
    "in",
    "match",
    "missing",
    "not",
    "nothing",
    "or",
    "range",
    "regexp",
    "select",
];

fn join(path: Option<&str>, leaf: &str) -> String {
    match path {
        Some(path) if !path.is_empty() => format!("{path}.{leaf}"),
        _ => leaf.to_owned(),
    }
}

fn invalid<T>(path: &str, message: impl Into<String>) -> Result<T> {
    Err(RealtimeError::invalid(path, message))
}

fn leaf(kind: ConditionKind) -> Expr {
    Expr::Leaf(Condition::new(kind))
}

/// Returns the object, or an error when the value is not one or has the wrong size.
fn object<'a>(value: &'a Value, path: &str, size: Option<usize>) -> Result<&'a Map<String, Value>> {
    let Value::Object(map) = value else {
        return invalid(path, format!("must be an object, got `{value}`"));
    };
    match size {
        Some(0) if map.is_empty() => invalid(path, "must be a non-empty object"),
        Some(n) if n > 0 && map.len() != n => invalid(
            path,
            format!(
                "expected an object with exactly {n} properties, got {}",
                map.len()
            ),
        ),
        _ => Ok(map),
    }
}

fn non_empty_string<'a>(value: Option<&'a Value>, path: &str) -> Result<&'a str> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => invalid(path, "cannot be an empty string"),
        Some(other) => invalid(path, format!("must be a string, got `{other}`")),
        None => invalid(path, "is missing"),
    }
}

fn string_array<'a>(value: &'a Value, path: &str) -> Result<Vec<&'a str>> {
    let Value::Array(items) = value else {
        return invalid(path, format!("must be an array, got `{value}`"));
    };
    if items.is_empty() {
        return invalid(path, "cannot be an empty array");
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.as_str()),
            other => invalid(path, format!("must hold strings only, got `{other}`")),
        })
        .collect()
}

/// Splits `{field: value}` where the object has one property.
fn single_field<'a>(value: &'a Value, path: &str) -> Result<(&'a String, &'a Value)> {
    let map = object(value, path, Some(1))?;
    Ok(map.iter().next().expect("object has exactly one property"))
}

impl Parser {
    fn filter(&self, value: &Value, path: Option<&str>) -> Result<Expr> {
        let map = object(value, path.unwrap_or(""), None)?;
        let mut keys = map.keys();
        let (Some(keyword), None) = (keys.next(), keys.next()) else {
            let names: Vec<&str> = map.keys().map(String::as_str).collect();
            return invalid(
                path.unwrap_or(""),
                format!(
                    "a filter must have exactly one keyword, got `{}`",
                    names.join(",")
                ),
            );
        };
        let path = join(path, keyword);
        let body = &map[keyword];

        match keyword.as_str() {
            "and" => self.list(body, &path).map(Expr::And),
            "or" => self.list(body, &path).map(Expr::Or),
            "not" => {
                object(body, &path, Some(1))?;
                Ok(Expr::Not(Box::new(self.filter(body, Some(&path))?)))
            }
            "bool" => self.bool(body, &path),
            "equals" => equals(body, &path),
            "exists" => exists(body, &path),
            "missing" => Ok(Expr::Not(Box::new(exists(body, &path)?))),
            "range" => range(body, &path),
            "regexp" => regexp(body, &path),
            "in" => {
                let (field, values) = single_field(body, &path)?;
                let values = string_array(values, &join(Some(&path), field))?;
                Ok(equals_any(field, &values))
            }
            "ids" => {
                let map = object(body, &path, Some(1))?;
                let values_path = join(Some(&path), "values");
                let Some(values) = map.get("values") else {
                    return invalid(&values_path, "is missing");
                };
                Ok(equals_any("_id", &string_array(values, &values_path)?))
            }
            "geoBoundingBox" => geo::geo_bounding_box(body, &path),
            "geoDistance" => geo::geo_distance(body, &path),
            "geoDistanceRange" => geo::geo_distance_range(body, &path),
            "geoPolygon" => geo::geo_polygon(body, &path),
            "match" => {
                let value = object(body, &path, Some(0))?.clone();
                Ok(leaf(ConditionKind::Match { value }))
            }
            "select" => self.select(body, &path),
            "nothing" => Ok(leaf(ConditionKind::Nothing)),
            unknown => {
                debug_assert!(!KEYWORDS.contains(&unknown));
                invalid(
                    &path,
                    format!(
                        "unknown keyword `{unknown}`; known keywords: {}",
                        KEYWORDS.join(", ")
                    ),
                )
            }
        }
    }

    fn list(&self, value: &Value, path: &str) -> Result<Vec<Expr>> {
        let Value::Array(items) = value else {
            return invalid(path, format!("must be an array of filters, got `{value}`"));
        };
        if items.is_empty() {
            return invalid(path, "cannot be an empty array");
        }
        items
            .iter()
            .map(|item| match item {
                Value::Object(map) if !map.is_empty() => self.filter(item, Some(path)),
                other => invalid(
                    path,
                    format!("can only contain non-empty objects, got `{other}`"),
                ),
            })
            .collect()
    }

    /// `bool` is `and(must…, not(or(must_not…)), or(should…), not(and(should_not…)))`.
    fn bool(&self, value: &Value, path: &str) -> Result<Expr> {
        let map = object(value, path, Some(0))?;
        let mut parts = Vec::new();
        for (key, clause) in map {
            let clause_path = join(Some(path), key);
            // Koncorde 4.7.0 takes a single filter as `must`, but only arrays elsewhere.
            let clause = match clause {
                Value::Object(_) if key == "must" => Value::Array(vec![clause.clone()]),
                other => other.clone(),
            };
            match key.as_str() {
                "must" if clause.as_array().is_some_and(Vec::is_empty) => {}
                "must" => parts.extend(self.list(&clause, &clause_path)?),
                "must_not" => {
                    let any = Expr::Or(self.list(&clause, &clause_path)?);
                    parts.push(Expr::Not(Box::new(any)));
                }
                "should" => parts.push(Expr::Or(self.list(&clause, &clause_path)?)),
                "should_not" => {
                    let all = Expr::And(self.list(&clause, &clause_path)?);
                    parts.push(Expr::Not(Box::new(all)));
                }
                other => {
                    return invalid(
                        path,
                        format!(
                            "unknown attribute `{other}`; allowed: must, must_not, should, \
                             should_not"
                        ),
                    );
                }
            }
        }
        if parts.is_empty() {
            return invalid(path, "must hold at least one condition");
        }
        Ok(Expr::And(parts))
    }

    fn select(&self, value: &Value, path: &str) -> Result<Expr> {
        let map = object(value, path, Some(3))?;
        let field = non_empty_string(map.get("field"), &join(Some(path), "field"))?;
        let index_path = join(Some(path), "index");
        let index = match map.get("index") {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => i,
                None => return invalid(&index_path, format!("must be an integer, got `{n}`")),
            },
            Some(other) => {
                return invalid(&index_path, format!("must be an integer, got `{other}`"));
            }
            None => return invalid(&index_path, "is missing"),
        };
        let query_path = join(Some(path), "query");
        let query = map.get("query").unwrap_or(&Value::Null);
        object(query, &query_path, Some(0))?;
        let options = ParseOptions {
            max_conditions: 0,
            ..self.options
        };
        let normalized = Normalized::from_filter(query, options)
            .map_err(|error| prefix_path(error, &query_path))?;
        Ok(leaf(ConditionKind::Select {
            field: field.to_owned(),
            index,
            query: Box::new(normalized),
        }))
    }
}

fn prefix_path(error: RealtimeError, prefix: &str) -> RealtimeError {
    match error {
        RealtimeError::InvalidFilter { path, message } => RealtimeError::InvalidFilter {
            path: join(Some(prefix), &path),
            message,
        },
        other => other,
    }
}

fn equals_any(field: &str, values: &[&str]) -> Expr {
    let leaves = values
        .iter()
        .map(|v| {
            leaf(ConditionKind::Equals {
                field: field.to_owned(),
                value: Scalar::String((*v).to_owned()),
            })
        })
        .collect();
    Expr::Or(leaves)
}

fn equals(value: &Value, path: &str) -> Result<Expr> {
    let (field, expected) = single_field(value, path)?;
    let Some(scalar) = Scalar::from_value(expected) else {
        return invalid(
            &join(Some(path), field),
            format!("must be a string, a number, a boolean or null, got `{expected}`"),
        );
    };
    Ok(leaf(ConditionKind::Equals {
        field: field.clone(),
        value: scalar,
    }))
}

static ARRAY_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.*?[^\\])\[(.*)\]$").unwrap());

/// Parses `"path"`, `'path["value"]'` or the deprecated `{field: "path"}`.
fn exists(value: &Value, path: &str) -> Result<Expr> {
    let field = match value {
        Value::String(s) if s.is_empty() => {
            return invalid(path, "cannot test an empty field name");
        }
        Value::String(s) => s.as_str(),
        Value::Object(_) => {
            let map = object(value, path, Some(1))?;
            non_empty_string(map.get("field"), &join(Some(path), "field"))?
        }
        other => return invalid(path, format!("must be a field name, got `{other}`")),
    };

    let (field, member) = match ARRAY_FIELD.captures(field) {
        Some(captures) => {
            let raw = &captures[2];
            let member: Value = serde_json::from_str(raw).map_err(|_| {
                RealtimeError::invalid(
                    path,
                    format!("invalid array value `{raw}`: write it as JSON, like `tags[\"red\"]`"),
                )
            })?;
            (captures[1].to_owned(), Some(member))
        }
        None => (field.to_owned(), None),
    };
    let field = field.replace("\\[", "[").replace("\\]", "]");
    Ok(leaf(ConditionKind::Exists {
        field,
        value: member,
    }))
}

fn range(value: &Value, path: &str) -> Result<Expr> {
    let (field, bounds) = single_field(value, path)?;
    let field_path = join(Some(path), field);
    let bounds = object(bounds, &field_path, Some(0))?;
    let (mut lower, mut upper) = (None, None);

    for (key, bound) in bounds {
        let Some(n) = bound.as_f64() else {
            let bound_path = join(Some(&field_path), key);
            return invalid(&bound_path, format!("must be a number, got `{bound}`"));
        };
        let (slot, inclusive) = match key.as_str() {
            "gt" => (&mut lower, false),
            "gte" => (&mut lower, true),
            "lt" => (&mut upper, false),
            "lte" => (&mut upper, true),
            other => {
                return invalid(
                    &field_path,
                    format!("unknown attribute `{other}`; allowed: gt, gte, lt, lte"),
                );
            }
        };
        if slot.is_some() {
            return invalid(
                &field_path,
                "only one lower bound and one upper bound are allowed",
            );
        }
        *slot = Some(Bound {
            value: n,
            inclusive,
        });
    }

    if let (Some(low), Some(high)) = (lower, upper)
        && high.value <= low.value
    {
        return invalid(
            &field_path,
            format!(
                "lower bound {} must be strictly less than upper bound {}",
                low.value, high.value
            ),
        );
    }
    // Each bound is a condition of its own, so that `not range` and the `or` of the negated
    // bounds normalize alike. The normal form merges plain bounds back into one range.
    let bound = |lower, upper| {
        leaf(ConditionKind::Range {
            field: field.clone(),
            lower,
            upper,
        })
    };
    Ok(match (lower, upper) {
        (Some(_), Some(_)) => Expr::And(vec![bound(lower, None), bound(None, upper)]),
        _ => bound(lower, upper),
    })
}

fn regexp(value: &Value, path: &str) -> Result<Expr> {
    let (field, spec) = single_field(value, path)?;
    let field_path = join(Some(path), field);
    let (pattern, flags) = match spec {
        Value::String(pattern) => (pattern.as_str(), ""),
        Value::Object(map) if !map.is_empty() => {
            if let Some(other) = map.keys().find(|k| *k != "value" && *k != "flags") {
                return invalid(
                    &field_path,
                    format!("unknown attribute `{other}`; allowed: value, flags"),
                );
            }
            let pattern = match map.get("value") {
                Some(Value::String(s)) => s.as_str(),
                Some(other) => {
                    return invalid(
                        &field_path,
                        format!("value must be a string, got `{other}`"),
                    );
                }
                None => return invalid(&field_path, "the property `value` is missing"),
            };
            let flags = match map.get("flags") {
                None | Some(Value::Null) => "",
                Some(Value::String(s)) => s.as_str(),
                Some(other) => {
                    return invalid(
                        &field_path,
                        format!("flags must be a string, got `{other}`"),
                    );
                }
            };
            (pattern, flags)
        }
        other => {
            return invalid(
                &field_path,
                format!("must be a string or a non-empty object, got `{other}`"),
            );
        }
    };

    let flags = regexp_flags(flags).map_err(|m| RealtimeError::invalid(&field_path, m))?;
    let regex = super::regex_cache::compile(&ascii_classes(pattern), &flags).map_err(|error| {
        RealtimeError::invalid(
            &field_path,
            format!("cannot compile regular expression `{pattern}`: {error}"),
        )
    })?;
    Ok(leaf(ConditionKind::Regexp {
        field: field.clone(),
        pattern: pattern.to_owned(),
        flags,
        regex,
    }))
}

/// Validates JavaScript regexp flags and returns the ones that change matching, sorted.
///
/// `i`, `m` and `s` map to the same options of the `regex` crate. `u` is accepted because
/// matching is always Unicode-aware; `g` and `d` are accepted and ignored because a test has no
/// match position. `y` (sticky) and unknown flags are rejected.
fn regexp_flags(flags: &str) -> std::result::Result<String, String> {
    let mut kept: Vec<char> = Vec::new();
    let mut seen = String::new();
    for flag in flags.chars() {
        if seen.contains(flag) {
            return Err(format!("duplicate regexp flag `{flag}` in `{flags}`"));
        }
        seen.push(flag);
        match flag {
            'i' | 'm' | 's' => kept.push(flag),
            'u' | 'g' | 'd' => {}
            other => {
                return Err(format!(
                    "unsupported regexp flag `{other}`: expected some of i, m, s, u, g, d"
                ));
            }
        }
    }
    kept.sort_unstable();
    Ok(kept.into_iter().collect())
}

/// Rewrites `\d`, `\D`, `\w`, `\W` to their ASCII classes, which is what they mean in
/// JavaScript and RE2; the `regex` crate gives them Unicode meanings.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let replacement = match (next, in_class) {
                    ('d', false) => Some("[0-9]"),
                    ('D', false) => Some("[^0-9]"),
                    ('w', false) => Some("[0-9A-Za-z_]"),
                    ('W', false) => Some("[^0-9A-Za-z_]"),
                    ('d', true) => Some("0-9"),
                    ('w', true) => Some("0-9A-Za-z_"),
                    _ => None,
                };
                match replacement {
                    Some(text) => out.push_str(text),
                    None => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Counts leaf conditions, the measure that `limits.subscriptionConditionsCount` caps.
pub fn count_conditions(expr: &Expr) -> usize {
    match expr {
        Expr::And(children) | Expr::Or(children) => children.iter().map(count_conditions).sum(),
        Expr::Not(child) => count_conditions(child),
        Expr::Leaf(_) => 1,
    }
}
