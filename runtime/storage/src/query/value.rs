//! Conversion of JSON values to the type of the field they are compared with or indexed in.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::date_math::{Rounding, parse_query_date};
use super::geo::GeoPoint;
use crate::mapping::{FieldType, IndexValue};

/// Converts a JSON value to a field type, with Elasticsearch's coercions.
///
/// Numeric strings become numbers, `"true"`/`"false"` become booleans and numbers become
/// keywords. Returns `None` when the value does not fit, which is a mapping error for a document
/// and a query that matches nothing for a search term.
pub fn coerce(field_type: FieldType, value: &Value) -> Option<IndexValue> {
    match field_type {
        FieldType::Keyword | FieldType::Text => match value {
            Value::String(text) => Some(IndexValue::Str(text.clone())),
            Value::Number(number) => Some(IndexValue::Str(number.to_string())),
            Value::Bool(flag) => Some(IndexValue::Str(flag.to_string())),
            _ => None,
        },
        FieldType::Integer | FieldType::Long => coerce_integer(field_type, value),
        FieldType::Float | FieldType::Double => as_f64(value).map(IndexValue::F64),
        FieldType::Boolean => match value {
            Value::Bool(flag) => Some(IndexValue::Bool(*flag)),
            Value::String(text) if text == "true" => Some(IndexValue::Bool(true)),
            Value::String(text) if text == "false" => Some(IndexValue::Bool(false)),
            _ => None,
        },
        FieldType::Date => parse_date_millis(value).map(IndexValue::Date),
        FieldType::GeoPoint => GeoPoint::parse(value).map(IndexValue::Geo),
        FieldType::Object | FieldType::Nested => None,
    }
}

fn coerce_integer(field_type: FieldType, value: &Value) -> Option<IndexValue> {
    let number = match value {
        Value::Number(number) => match number.as_i64() {
            Some(integer) => integer,
            None => truncate_f64(number.as_f64()?)?,
        },
        Value::String(text) => match text.trim().parse::<i64>() {
            Ok(integer) => integer,
            Err(_) => truncate_f64(text.trim().parse::<f64>().ok()?)?,
        },
        _ => return None,
    };
    if field_type == FieldType::Integer && i32::try_from(number).is_err() {
        return None;
    }
    Some(IndexValue::I64(number))
}

/// Converts a value of a query, where dates may use date math (`now-1d/d`).
pub fn coerce_query(
    field_type: FieldType,
    value: &Value,
    rounding: Rounding,
) -> Option<IndexValue> {
    if field_type == FieldType::Date {
        return parse_query_date(value, rounding, chrono::Utc::now()).map(IndexValue::Date);
    }
    coerce(field_type, value)
}

/// Truncates a float to an integer, as Elasticsearch does for integer fields.
fn truncate_f64(value: f64) -> Option<i64> {
    let truncated = value.trunc();
    let in_range = truncated >= i64::MIN as f64 && truncated <= i64::MAX as f64;
    (value.is_finite() && in_range).then_some(truncated as i64)
}

/// Reads a number or a numeric string as a float.
pub fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        _ => None,
    }
}

/// Parses a date: epoch milliseconds (number or numeric string) or ISO 8601.
///
/// ISO forms accepted: `2024-01-31`, `2024-01-31T10:00:00`, with optional fraction and
/// with `Z` or an offset. A date without offset is UTC, as in Elasticsearch.
pub fn parse_date_millis(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| truncate_f64(number.as_f64()?)),
        Value::String(text) => parse_date_text(text.trim()),
        _ => None,
    }
}

fn parse_date_text(text: &str) -> Option<i64> {
    if let Ok(millis) = text.parse::<i64>() {
        return Some(millis);
    }
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date.timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(date) = NaiveDateTime::parse_from_str(text, format) {
            return Some(date.and_utc().timestamp_millis());
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dates_parse() {
        assert_eq!(parse_date_millis(&json!(1000)), Some(1000));
        assert_eq!(
            parse_date_millis(&json!("1970-01-01T00:00:01Z")),
            Some(1000)
        );
        assert_eq!(
            parse_date_millis(&json!("1970-01-01T00:00:01.5+00:00")),
            Some(1500)
        );
        assert_eq!(parse_date_millis(&json!("1970-01-02")), Some(86_400_000));
        assert_eq!(parse_date_millis(&json!("1970-01-01T00:00:02")), Some(2000));
        assert_eq!(parse_date_millis(&json!("yesterday")), None);
    }

    #[test]
    fn integers_coerce() {
        assert_eq!(
            coerce(FieldType::Long, &json!("42")),
            Some(IndexValue::I64(42))
        );
        assert_eq!(
            coerce(FieldType::Long, &json!(4.7)),
            Some(IndexValue::I64(4))
        );
        assert_eq!(coerce(FieldType::Integer, &json!(5_000_000_000_i64)), None);
        assert_eq!(coerce(FieldType::Long, &json!("x")), None);
        assert_eq!(
            coerce(FieldType::Keyword, &json!(3)),
            Some(IndexValue::Str("3".into()))
        );
    }
}
