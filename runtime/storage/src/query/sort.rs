//! `sort`: the fields, order and missing-value policy of a search.

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::{Result, StorageError};
use crate::mapping::{FieldType, IndexValue, Mapping};
use crate::query::value::coerce;
use crate::value::values_at;

/// The key a sort field orders by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Score,
    Id,
    Field(String),
}

/// The position of documents without a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Missing {
    First,
    Last,
    /// Documents without a value sort as if they had this one.
    Value(Value),
}

/// One entry of `sort`.
#[derive(Debug, Clone, PartialEq)]
pub struct SortField {
    pub key: SortKey,
    pub descending: bool,
    pub missing: Missing,
}

/// A comparable sort value of one hit.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Missing,
    Number(f64),
    Text(String),
}

/// Parses `sort`: a field name, `{field: order}`, `{field: {order, missing}}` or an array of them.
///
/// # Errors
///
/// [`StorageError::InvalidSearchQuery`] for a malformed entry.
pub fn parse_sort(value: &Value) -> Result<Vec<SortField>> {
    match value {
        Value::Array(items) => items.iter().map(parse_entry).collect(),
        single => Ok(vec![parse_entry(single)?]),
    }
}

fn parse_entry(value: &Value) -> Result<SortField> {
    let name = match value {
        Value::String(name) => Some(name),
        Value::Object(map) => map.keys().next(),
        _ => None,
    };
    if let Some(special) =
        name.filter(|name| name.starts_with('_') && !["_score", "_id"].contains(&name.as_str()))
    {
        return Err(StorageError::unsupported(format!("sort on {special}")));
    }
    match value {
        Value::String(name) => Ok(sort_field(name, None, None)),
        Value::Object(map) if map.len() == 1 => {
            let (name, options) = map.iter().next().expect("length checked above");
            match options {
                Value::String(order) => Ok(sort_field(name, Some(parse_order(order)?), None)),
                Value::Object(options) => {
                    let order = options
                        .get("order")
                        .and_then(Value::as_str)
                        .map(parse_order);
                    if let Some(key) = options
                        .keys()
                        .find(|key| !["order", "missing", "unmapped_type"].contains(&key.as_str()))
                    {
                        return Err(StorageError::unsupported(format!("sort.{key}")));
                    }
                    Ok(sort_field(name, order.transpose()?, options.get("missing")))
                }
                _ => Err(StorageError::query(format!(
                    "invalid sort options for `{name}`"
                ))),
            }
        }
        _ => Err(StorageError::query(format!("invalid sort entry {value}"))),
    }
}

fn parse_order(order: &str) -> Result<bool> {
    match order {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(StorageError::query(format!(
            "sort order must be asc or desc, not `{other}`"
        ))),
    }
}

fn sort_field(name: &str, descending: Option<bool>, missing: Option<&Value>) -> SortField {
    let key = match name {
        "_score" => SortKey::Score,
        "_id" => SortKey::Id,
        field => SortKey::Field(field.to_owned()),
    };
    let descending = descending.unwrap_or(key == SortKey::Score);
    let missing = match missing.and_then(Value::as_str) {
        Some("_first") => Missing::First,
        Some("_last") | None if missing.is_none_or(Value::is_string) => Missing::Last,
        _ => Missing::Value(missing.cloned().unwrap_or(Value::Null)),
    };
    SortField {
        key,
        descending,
        missing,
    }
}

impl SortField {
    /// Checks that the field can be sorted on with this mapping.
    ///
    /// # Errors
    ///
    /// [`StorageError::InvalidSearchQuery`] for an unmapped, `text` or object field.
    pub fn check(&self, mapping: &Mapping) -> Result<()> {
        let SortKey::Field(field) = &self.key else {
            return Ok(());
        };
        match mapping.leaf_type(field) {
            None => Err(StorageError::query(format!(
                "no mapping found for `{field}` to sort on"
            ))),
            Some(FieldType::Text) => Err(StorageError::query(format!(
                "cannot sort on text field `{field}`; sort on a keyword field or multi-field"
            ))),
            Some(FieldType::GeoPoint) => Err(StorageError::unsupported("sort on geo_point")),
            Some(_) if !mapping.is_searchable(field) => Err(StorageError::query(format!(
                "cannot sort on field `{field}` because its mapping sets `index: false`"
            ))),
            Some(_) => Ok(()),
        }
    }

    /// Computes the sort value of a hit: the smallest value ascending, the largest descending.
    pub fn value_of(&self, mapping: &Mapping, id: &str, score: f32, source: &Value) -> SortValue {
        let field = match &self.key {
            SortKey::Score => return SortValue::Number(f64::from(score)),
            SortKey::Id => return SortValue::Text(id.to_owned()),
            SortKey::Field(field) => field,
        };
        let Some(field_type) = mapping.leaf_type(field) else {
            return SortValue::Missing;
        };
        let values = values_at(source, mapping.source_path(field))
            .into_iter()
            .filter_map(|value| coerce(field_type, value).map(to_sort_value));
        let picked = if self.descending {
            values.max_by(compare_present)
        } else {
            values.min_by(compare_present)
        };
        match (picked, &self.missing) {
            (Some(value), _) => value,
            (None, Missing::Value(default)) => coerce(field_type, default)
                .map(to_sort_value)
                .unwrap_or(SortValue::Missing),
            (None, _) => SortValue::Missing,
        }
    }

    /// Compares two hits' values for this field, in the requested order.
    pub fn compare(&self, left: &SortValue, right: &SortValue) -> Ordering {
        let missing_first = self.missing == Missing::First;
        match (left, right) {
            (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
            (SortValue::Missing, _) => {
                if missing_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (_, SortValue::Missing) => {
                if missing_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (left, right) if self.descending => compare_present(right, left),
            (left, right) => compare_present(left, right),
        }
    }
}

fn to_sort_value(value: IndexValue) -> SortValue {
    match value {
        IndexValue::Str(text) => SortValue::Text(text),
        IndexValue::I64(number) | IndexValue::Date(number) => SortValue::Number(number as f64),
        IndexValue::F64(number) => SortValue::Number(number),
        IndexValue::Bool(flag) => SortValue::Number(if flag { 1.0 } else { 0.0 }),
        IndexValue::Geo(_) => SortValue::Missing,
    }
}

fn compare_present(left: &SortValue, right: &SortValue) -> Ordering {
    match (left, right) {
        (SortValue::Number(a), SortValue::Number(b)) => a.total_cmp(b),
        (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
        (SortValue::Number(_), SortValue::Text(_)) => Ordering::Less,
        (SortValue::Text(_), SortValue::Number(_)) => Ordering::Greater,
        (SortValue::Missing, _) | (_, SortValue::Missing) => Ordering::Equal,
    }
}

impl SortValue {
    /// Returns the JSON form sent in a hit's `sort` array and read back from `search_after`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Missing => Value::Null,
            Self::Number(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => {
                Value::from(*number as i64)
            }
            Self::Number(number) => Value::from(*number),
            Self::Text(text) => Value::String(text.clone()),
        }
    }

    /// Reads a `search_after` value.
    pub fn from_json(value: &Value) -> Self {
        match value {
            Value::Null => Self::Missing,
            Value::Number(number) => number.as_f64().map_or(Self::Missing, Self::Number),
            Value::String(text) => Self::Text(text.clone()),
            Value::Bool(flag) => Self::Number(if *flag { 1.0 } else { 0.0 }),
            other => Self::Text(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sort_forms_parse() {
        let fields = parse_sort(
            &json!(["_score", {"age": "asc"}, {"name": {"order": "desc", "missing": "_first"}}]),
        )
        .unwrap();
        assert_eq!(fields[0].key, SortKey::Score);
        assert!(fields[0].descending);
        assert!(!fields[1].descending);
        assert_eq!(fields[2].missing, Missing::First);
        assert!(fields[2].descending);
    }

    #[test]
    fn missing_goes_last_both_ways() {
        let ascending = sort_field("a", Some(false), None);
        let descending = sort_field("a", Some(true), None);
        let one = SortValue::Number(1.0);
        assert_eq!(
            ascending.compare(&SortValue::Missing, &one),
            Ordering::Greater
        );
        assert_eq!(
            descending.compare(&SortValue::Missing, &one),
            Ordering::Greater
        );
    }
}
