//! Leaf conditions of a normalized filter and how one document field satisfies them.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::lazy_regex::LazyRegex;
use super::normalize::Normalized;
use crate::geo::{GeoShape, parse_geopoint};
use crate::json::{
    FlatDocument, Scalar, is_truthy, js_to_string, number_value, write_json_string, write_stable,
};

/// One bound of a `range` condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The bound's value.
    pub value: f64,
    /// True for `gte`/`lte`, false for `gt`/`lt`.
    pub inclusive: bool,
}

/// Test of a leaf condition.
#[derive(Debug, Clone)]
pub enum ConditionKind {
    /// Never true; `not nothing` is always true.
    Nothing,
    /// The field is exactly this scalar.
    Equals {
        /// Dotted path.
        field: String,
        /// Expected scalar.
        value: Scalar,
    },
    /// The field exists, or, with `value`, the field is an array containing that scalar.
    Exists {
        /// Dotted path.
        field: String,
        /// Array member to look for.
        value: Option<Value>,
    },
    /// The field is a number within the bounds.
    Range {
        /// Dotted path.
        field: String,
        /// `gt` or `gte`.
        lower: Option<Bound>,
        /// `lt` or `lte`.
        upper: Option<Bound>,
    },
    /// The field is a string matching the expression.
    Regexp {
        /// Dotted path.
        field: String,
        /// Pattern as written in the filter.
        pattern: String,
        /// The JavaScript flags that change matching (`i`, `m`, `s`), sorted.
        flags: String,
        /// The expression, compiled on its first test.
        regex: Arc<LazyRegex>,
    },
    /// The field is a geopoint inside the shape.
    Geo {
        /// Dotted path.
        field: String,
        /// Shape to test.
        shape: GeoShape,
    },
    /// The document contains these values (objects as subsets, arrays as sub-multisets).
    Match {
        /// Partial document to look for.
        value: Map<String, Value>,
    },
    /// The element of the array field at `index` satisfies the query.
    Select {
        /// Dotted path of the array.
        field: String,
        /// Position; a negative index counts from the end.
        index: i64,
        /// Filter tested on `{value: <element>}`.
        query: Box<Normalized>,
    },
}

/// A leaf condition with its canonical text, which identifies it among all conditions.
#[derive(Debug, Clone)]
pub struct Condition {
    key: String,
    kind: ConditionKind,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Condition {}

impl PartialOrd for Condition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Condition {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl Condition {
    /// Wraps a condition kind and computes its canonical key.
    pub fn new(kind: ConditionKind) -> Self {
        let key = direct_key(&kind)
            .unwrap_or_else(|| crate::json::stable_stringify(&kind_to_json(&kind)));
        Self { key, kind }
    }

    /// Returns the canonical text of the condition.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Returns what the condition tests.
    pub fn kind(&self) -> &ConditionKind {
        &self.kind
    }

    /// Returns the canonical JSON of the condition, keyed by its keyword.
    pub fn to_json(&self) -> Value {
        kind_to_json(&self.kind)
    }

    /// Returns the dotted path the condition reads, or `None` for `match` and `nothing`.
    pub fn field(&self) -> Option<&str> {
        match &self.kind {
            ConditionKind::Nothing | ConditionKind::Match { .. } => None,
            ConditionKind::Equals { field, .. }
            | ConditionKind::Exists { field, .. }
            | ConditionKind::Range { field, .. }
            | ConditionKind::Regexp { field, .. }
            | ConditionKind::Geo { field, .. }
            | ConditionKind::Select { field, .. } => Some(field),
        }
    }

    /// Returns true when `not <condition>` is true exactly when the condition is false.
    ///
    /// It is false for `regexp` and geo conditions: on a value that is neither a string nor a
    /// geopoint, Koncorde 4.7.0 can make both the condition and its negation false, so
    /// `x or not x` is not always true for them.
    pub fn negation_is_complement(&self) -> bool {
        !matches!(
            self.kind,
            ConditionKind::Regexp { .. } | ConditionKind::Geo { .. }
        )
    }

    /// Tests the condition on a document.
    pub fn test(&self, document: &FlatDocument<'_>, negated: bool) -> bool {
        match &self.kind {
            ConditionKind::Nothing => negated,
            ConditionKind::Match { value } => match_object(document.as_map(), value) != negated,
            _ => {
                let field = self.field().unwrap_or_default();
                self.test_field(document.get(field), negated)
            }
        }
    }

    /// Tests a field-bound condition on the value of its field (`None` when absent).
    ///
    /// A negated condition is the complement of the plain one, except where Koncorde 4.7.0
    /// differs: `not regexp` tests the JavaScript string form of a non-string value, and
    /// `not geo*` is false for a value that is present but no geopoint.
    pub fn test_field(&self, value: Option<&Value>, negated: bool) -> bool {
        match &self.kind {
            ConditionKind::Regexp { regex, .. } if negated => {
                value.is_none_or(|v| !regex.is_match(&js_to_string(v)))
            }
            ConditionKind::Geo { shape, .. } if negated => match value {
                Some(v) if is_truthy(v) => parse_geopoint(v).is_some_and(|p| !shape.contains(p)),
                _ => true,
            },
            _ => self.test_plain(value) != negated,
        }
    }

    fn test_plain(&self, value: Option<&Value>) -> bool {
        let Some(value) = value else {
            return false;
        };
        match &self.kind {
            ConditionKind::Nothing | ConditionKind::Match { .. } => false,
            ConditionKind::Equals {
                value: expected, ..
            } => expected.matches(value),
            ConditionKind::Exists { value: None, .. } => true,
            ConditionKind::Exists {
                value: Some(member),
                ..
            } => array_contains(value, member),
            ConditionKind::Range { lower, upper, .. } => {
                value.as_f64().is_some_and(|n| in_range(n, *lower, *upper))
            }
            ConditionKind::Regexp { regex, .. } => {
                value.as_str().is_some_and(|s| regex.is_match(s))
            }
            ConditionKind::Geo { shape, .. } => {
                is_truthy(value) && parse_geopoint(value).is_some_and(|p| shape.contains(p))
            }
            ConditionKind::Select { index, query, .. } => select_matches(value, *index, query),
        }
    }
}

/// Returns true when `n` is within both bounds.
pub fn in_range(n: f64, lower: Option<Bound>, upper: Option<Bound>) -> bool {
    let above = lower.is_none_or(|b| {
        if b.inclusive {
            n >= b.value
        } else {
            n > b.value
        }
    });
    let below = upper.is_none_or(|b| {
        if b.inclusive {
            n <= b.value
        } else {
            n < b.value
        }
    });
    above && below
}

/// Returns true when `value` is an array holding the scalar `member`. Objects and arrays
/// never count as members, as in Koncorde, which compares them by reference.
fn array_contains(value: &Value, member: &Value) -> bool {
    let (Value::Array(items), Some(member)) = (value, Scalar::from_value(member)) else {
        return false;
    };
    items.iter().any(|item| member.matches(item))
}

fn select_matches(value: &Value, index: i64, query: &Normalized) -> bool {
    let Value::Array(items) = value else {
        return false;
    };
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let position = if index >= 0 { index } else { len + index };
    let Some(element) = usize::try_from(position).ok().and_then(|i| items.get(i)) else {
        return false;
    };
    let wrapper = json!({ "value": element });
    query.test(&FlatDocument::new(&wrapper, None))
}

fn match_object(document: &HashMap<String, &Value>, expected: &Map<String, Value>) -> bool {
    expected.iter().all(|(key, value)| {
        document
            .get(key)
            .is_some_and(|actual| match_any(actual, value))
    })
}

/// Partial match of `match`: objects must contain the expected keys, arrays must contain a
/// distinct element matching each expected element, scalars must be equal.
fn match_any(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(k, v)| actual.get(k).is_some_and(|a| match_any(a, v))),
        (Value::Array(actual), Value::Array(expected)) => match_array(actual, expected),
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

fn match_array(actual: &[Value], expected: &[Value]) -> bool {
    if actual.len() < expected.len() {
        return false;
    }
    // Each actual element may serve one expected element only; take the first that fits.
    let mut remaining: Vec<&Value> = actual.iter().collect();
    for wanted in expected {
        let Some(position) = remaining.iter().position(|a| match_any(a, wanted)) else {
            return false;
        };
        remaining.remove(position);
    }
    true
}

/// Writes the key of an `equals`, `exists`, `range` or geo condition straight from its fields.
/// Going through a JSON tree took about a fifth of a `range` filter's registration. The text
/// is the one that [`kind_to_json`] and [`crate::json::stable_stringify`] give.
fn direct_key(kind: &ConditionKind) -> Option<String> {
    let mut out = Vec::with_capacity(64);
    match kind {
        ConditionKind::Equals { field, value } => {
            out.extend_from_slice(br#"{"equals":{"#);
            write_json_string(field, &mut out);
            out.push(b':');
            write_scalar(value, &mut out);
            out.extend_from_slice(b"}}");
        }
        ConditionKind::Exists { field, value } => {
            out.extend_from_slice(br#"{"exists":{"array":"#);
            out.extend_from_slice(if value.is_some() { b"true" } else { b"false" });
            out.extend_from_slice(br#","path":"#);
            write_json_string(field, &mut out);
            out.extend_from_slice(br#","value":"#);
            write_stable(value.as_ref().unwrap_or(&Value::Null), &mut out);
            out.extend_from_slice(b"}}");
        }
        ConditionKind::Range {
            field,
            lower,
            upper,
        } => {
            out.extend_from_slice(br#"{"range":{"#);
            write_json_string(field, &mut out);
            out.push(b':');
            write_bounds(*lower, *upper, &mut out);
            out.extend_from_slice(b"}}");
        }
        ConditionKind::Geo { field, shape } => {
            out.extend_from_slice(br#"{"geospatial":{""#);
            out.extend_from_slice(shape.keyword().as_bytes());
            out.extend_from_slice(br#"":{"#);
            write_json_string(field, &mut out);
            out.push(b':');
            write_shape(shape, &mut out);
            out.extend_from_slice(b"}}}");
        }
        _ => return None,
    }
    Some(String::from_utf8(out).expect("keys are written as UTF-8"))
}

/// Writes the value of [`GeoShape::to_json`], its keys sorted.
fn write_shape(shape: &GeoShape, out: &mut Vec<u8>) {
    let mut members = |pairs: &[(&str, f64)]| {
        out.push(b'{');
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(name, out);
            out.push(b':');
            write_number(*value, out);
        }
        out.push(b'}');
    };
    match shape {
        GeoShape::BoundingBox {
            top,
            left,
            bottom,
            right,
        } => members(&[
            ("bottom", *bottom),
            ("left", *left),
            ("right", *right),
            ("top", *top),
        ]),
        GeoShape::Circle { center, radius } => {
            members(&[
                ("distance", *radius),
                ("lat", center.lat),
                ("lon", center.lon),
            ]);
        }
        GeoShape::Annulus { center, from, to } => members(&[
            ("from", *from),
            ("lat", center.lat),
            ("lon", center.lon),
            ("to", *to),
        ]),
        GeoShape::Polygon(polygon) => {
            out.push(b'[');
            for (i, point) in polygon.points().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                write_number(point.lat, out);
                out.push(b',');
                write_number(point.lon, out);
                out.push(b']');
            }
            out.push(b']');
        }
    }
}

fn write_number(n: f64, out: &mut Vec<u8>) {
    write_stable(&number_value(n), out);
}

fn write_scalar(value: &Scalar, out: &mut Vec<u8>) {
    match value {
        Scalar::Null => out.extend_from_slice(b"null"),
        Scalar::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Scalar::Number(n) => write_number(*n, out),
        Scalar::String(s) => write_json_string(s, out),
    }
}

/// Writes the bounds object. `gt` and `gte` sort before `lt` and `lte`.
fn write_bounds(lower: Option<Bound>, upper: Option<Bound>, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Some(b) = lower {
        out.extend_from_slice(if b.inclusive {
            br#""gte":"#
        } else {
            br#""gt":"#
        });
        write_number(b.value, out);
    }
    if let Some(b) = upper {
        if lower.is_some() {
            out.push(b',');
        }
        out.extend_from_slice(if b.inclusive {
            br#""lte":"#
        } else {
            br#""lt":"#
        });
        write_number(b.value, out);
    }
    out.push(b'}');
}

fn kind_to_json(kind: &ConditionKind) -> Value {
    match kind {
        ConditionKind::Nothing => json!({"nothing": true}),
        ConditionKind::Equals { field, value } => json!({"equals": {field: value.to_value()}}),
        ConditionKind::Exists { field, value } => json!({"exists": {
            "path": field, "array": value.is_some(), "value": value.clone().unwrap_or(Value::Null)
        }}),
        ConditionKind::Range {
            field,
            lower,
            upper,
        } => {
            let mut bounds = Map::new();
            if let Some(b) = lower {
                bounds.insert(
                    if b.inclusive { "gte" } else { "gt" }.into(),
                    number_value(b.value),
                );
            }
            if let Some(b) = upper {
                bounds.insert(
                    if b.inclusive { "lte" } else { "lt" }.into(),
                    number_value(b.value),
                );
            }
            json!({"range": {field: bounds}})
        }
        ConditionKind::Regexp {
            field,
            pattern,
            flags,
            ..
        } => {
            json!({"regexp": {field: {"value": pattern, "flags": flags}}})
        }
        ConditionKind::Geo { field, shape } => {
            let shape = shape.to_json();
            let (keyword, value) = shape
                .as_object()
                .and_then(|m| m.iter().next())
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            json!({"geospatial": {keyword: {field: value}}})
        }
        ConditionKind::Match { value } => json!({"match": value}),
        ConditionKind::Select {
            field,
            index,
            query,
        } => json!({"select": {
            "field": field, "index": index, "query": query.to_json()
        }}),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::geo::{GeoPoint, Polygon};
    use crate::json::stable_stringify;

    fn bound(value: f64, inclusive: bool) -> Option<Bound> {
        Some(Bound { value, inclusive })
    }

    #[test]
    fn direct_keys_equal_the_json_keys() {
        let fields = ["a", "a.b", "é\"\\\n", ""];
        let scalars = [
            Scalar::Null,
            Scalar::Bool(true),
            Scalar::Bool(false),
            Scalar::Number(-0.0),
            Scalar::Number(42.0),
            Scalar::Number(-1.5),
            Scalar::Number(1e20),
            Scalar::Number(9.0e15),
            Scalar::Number(f64::MIN_POSITIVE),
            Scalar::String("x\u{1}\"y".into()),
        ];
        let members = [
            None,
            Some(json!(3)),
            Some(json!("s")),
            Some(json!({"b": 1, "a": [2]})),
        ];
        let bounds = [
            (bound(1.0, true), None),
            (bound(-0.5, false), bound(7.0, true)),
            (None, bound(1e300, false)),
            (bound(-3.0, false), bound(2.25, false)),
        ];
        let mut kinds = Vec::new();
        for field in fields {
            for value in &scalars {
                kinds.push(ConditionKind::Equals {
                    field: field.into(),
                    value: value.clone(),
                });
            }
            for value in &members {
                kinds.push(ConditionKind::Exists {
                    field: field.into(),
                    value: value.clone(),
                });
            }
            for (lower, upper) in bounds {
                kinds.push(ConditionKind::Range {
                    field: field.into(),
                    lower,
                    upper,
                });
            }
        }
        let shapes = [
            GeoShape::BoundingBox {
                top: 45.5,
                left: 3.0,
                bottom: -1e-7,
                right: 3.25,
            },
            GeoShape::Circle {
                center: GeoPoint {
                    lat: 43.6,
                    lon: 1.44,
                },
                radius: 20000.0,
            },
            GeoShape::Annulus {
                center: GeoPoint {
                    lat: -0.0,
                    lon: 179.9,
                },
                from: 0.5,
                to: 1e6,
            },
            GeoShape::Polygon(Polygon::new(vec![
                GeoPoint { lat: 0.0, lon: 0.0 },
                GeoPoint {
                    lat: 1.5,
                    lon: 0.25,
                },
                GeoPoint {
                    lat: 0.75,
                    lon: 2.0,
                },
            ])),
        ];
        for shape in shapes {
            kinds.push(ConditionKind::Geo {
                field: "a.b".into(),
                shape,
            });
        }
        for kind in &kinds {
            let expected = stable_stringify(&kind_to_json(kind));
            assert_eq!(
                direct_key(kind).as_deref(),
                Some(expected.as_str()),
                "{kind:?}"
            );
        }
    }
}
