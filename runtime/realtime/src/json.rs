//! JSON helpers that reproduce JavaScript semantics Koncorde relies on: flattened documents,
//! scalar equality, string conversion and key-sorted serialization.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde_json::Value;

/// A JSON scalar compared the way JavaScript's `Map` and `===` compare them: numbers by value
/// (`1` equals `1.0`), strings by content, and `null` and booleans by identity.
#[derive(Debug, Clone)]
pub enum Scalar {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any JSON number, as a double like in JavaScript.
    Number(f64),
    /// A string.
    String(String),
}

impl Scalar {
    /// Converts a JSON value to a scalar, or returns `None` for arrays and objects.
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(Self::Null),
            Value::Bool(b) => Some(Self::Bool(*b)),
            Value::Number(n) => n.as_f64().map(Self::Number),
            Value::String(s) => Some(Self::String(s.clone())),
            Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// Returns true when `value` is a scalar equal to this one.
    pub fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Self::Null, Value::Null) => true,
            (Self::Bool(a), Value::Bool(b)) => a == b,
            (Self::Number(a), Value::Number(b)) => b.as_f64() == Some(*a),
            (Self::String(a), Value::String(b)) => a == b,
            _ => false,
        }
    }

    /// Converts the scalar back to JSON, writing integral numbers without a fraction.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => number_value(*n),
            Self::String(s) => Value::String(s.clone()),
        }
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Null, Self::Null) => true,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Number(a), Self::Number(b)) => a == b,
            (Self::String(a), Self::String(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Scalar {}

impl Hash for Scalar {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Self::Null => 0u8.hash(state),
            Self::Bool(b) => (1u8, b).hash(state),
            // `+ 0.0` turns -0.0 into 0.0 so that values equal under `==` hash alike.
            Self::Number(n) => (2u8, (n + 0.0).to_bits()).hash(state),
            Self::String(s) => (3u8, s).hash(state),
        }
    }
}

/// Converts a double to a JSON number, as an integer when it has no fraction.
pub fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        // The range check above keeps the cast exact.
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// A document flattened like Koncorde does: every object key at any depth is reachable by its
/// dotted path, and intermediate objects stay reachable too. Arrays are leaves.
#[derive(Debug, Default)]
pub struct FlatDocument<'a> {
    fields: HashMap<String, &'a Value>,
}

impl<'a> FlatDocument<'a> {
    /// Flattens `source` and adds `_id` when given, replacing any `_id` key of the source.
    pub fn new(source: &'a Value, id: Option<&'a Value>) -> Self {
        let mut document = Self::default();
        if let Value::Object(map) = source {
            document.flatten(map, None);
        }
        if let Some(id) = id {
            document.fields.insert("_id".to_owned(), id);
        }
        document
    }

    fn flatten(&mut self, map: &'a serde_json::Map<String, Value>, prefix: Option<&str>) {
        for (key, value) in map {
            let path = match prefix {
                Some(prefix) => format!("{prefix}.{key}"),
                None => key.clone(),
            };
            if let Value::Object(inner) = value {
                self.flatten(inner, Some(&path));
            }
            self.fields.insert(path, value);
        }
    }

    /// Returns the value at a dotted path.
    pub fn get(&self, path: &str) -> Option<&'a Value> {
        self.fields.get(path).copied()
    }

    /// Iterates over every dotted path and its value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a Value)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Returns the flattened fields as one JSON object map, for `match` conditions.
    pub fn as_map(&self) -> &HashMap<String, &'a Value> {
        &self.fields
    }
}

/// Returns JavaScript's truthiness of a JSON value.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// Converts a JSON value to a string like JavaScript's `String(value)`.
pub fn js_to_string(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => js_number_to_string(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::Null => String::new(),
                    other => js_to_string(other),
                })
                .collect();
            parts.join(",")
        }
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// Formats a double like JavaScript's `Number.prototype.toString()`.
pub fn js_number_to_string(n: f64) -> String {
    if n == 0.0 {
        return "0".to_owned();
    }
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let abs = n.abs();
    if (1e-7..1e21).contains(&abs) {
        // Rust's shortest round-trip output matches JavaScript in this range.
        return format!("{n}");
    }

    // Exponent notation: JavaScript writes `1e+21`, `1.5e-8`.
    let formatted = format!("{n:e}");
    let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let sign = if exponent.starts_with('-') { "" } else { "+" };
    format!("{mantissa}e{sign}{exponent}")
}

/// Serializes a value with object keys sorted at every depth, so equal values give equal text.
pub fn stable_stringify(value: &Value) -> String {
    let mut out = Vec::new();
    write_stable(value, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes `value` as [`stable_stringify`] does, appending the bytes to `out`.
pub fn write_stable(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_stable(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_string(key, out);
                out.push(b':');
                write_stable(&map[key], out);
            }
            out.push(b'}');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec never fails"),
    }
}

/// Appends `text` as a quoted and escaped JSON string.
pub fn write_json_string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec never fails");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flatten_keeps_objects_and_leaves() {
        let source = json!({"a": {"b": {"c": 1}}, "d": [1, {"e": 2}]});
        let document = FlatDocument::new(&source, None);
        assert_eq!(document.get("a.b.c"), Some(&json!(1)));
        assert_eq!(document.get("a.b"), Some(&json!({"c": 1})));
        assert_eq!(document.get("d"), Some(&json!([1, {"e": 2}])));
        assert_eq!(document.get("d.e"), None);
    }

    #[test]
    fn flatten_adds_id() {
        let source = json!({"_id": "old", "x": 1});
        let id = json!("new");
        let document = FlatDocument::new(&source, Some(&id));
        assert_eq!(document.get("_id"), Some(&json!("new")));
    }

    #[test]
    fn scalar_numbers_compare_by_value() {
        assert_eq!(Scalar::Number(1.0), Scalar::from_value(&json!(1)).unwrap());
        assert!(Scalar::Number(1.0).matches(&json!(1.0)));
        assert!(!Scalar::String("1".into()).matches(&json!(1)));
        assert!(Scalar::from_value(&json!([1])).is_none());
    }

    #[test]
    fn js_string_conversion() {
        assert_eq!(js_to_string(&json!(42)), "42");
        assert_eq!(js_to_string(&json!(1.5)), "1.5");
        assert_eq!(js_to_string(&json!(null)), "null");
        assert_eq!(js_to_string(&json!([1, null, "a"])), "1,,a");
        assert_eq!(js_to_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(js_number_to_string(1e21), "1e+21");
        assert_eq!(js_number_to_string(1.5e-8), "1.5e-8");
        assert_eq!(js_number_to_string(-0.0), "0");
    }

    #[test]
    fn stable_stringify_sorts_keys() {
        let a = json!({"b": 1, "a": {"d": [1, 2], "c": null}});
        assert_eq!(stable_stringify(&a), r#"{"a":{"c":null,"d":[1,2]},"b":1}"#);
    }
}
