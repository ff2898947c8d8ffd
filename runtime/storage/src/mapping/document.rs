//! Checking documents against a mapping and extracting the values to index.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{Dynamic, FieldMapping, FieldType, Mapping};
use crate::error::{Result, StorageError};
use crate::query::geo::GeoPoint;
use crate::query::value::{coerce, parse_date_millis};

/// A value ready for the search index, converted to its field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    Str(String),
    I64(i64),
    F64(f64),
    Bool(bool),
    /// Milliseconds since the Unix epoch.
    Date(i64),
    Geo(GeoPoint),
}

/// The searchable part of a document: typed values per leaf path and the paths present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexedDocument {
    pub values: Vec<(String, IndexValue)>,
    /// Every mapped path with a value, and their parent objects, for `exists` queries.
    pub present: BTreeSet<String>,
}

impl Mapping {
    /// Checks a source against the mapping, adding new fields when `dynamic` is true.
    ///
    /// Returns whether the mapping changed.
    ///
    /// # Errors
    ///
    /// [`StorageError::StrictMappingRejection`] for a field missing from a strict mapping,
    /// [`StorageError::FieldTypeMismatch`] for a value that does not fit its field type.
    pub fn apply_document(
        &mut self,
        source: &Value,
        index: &str,
        collection: &str,
    ) -> Result<bool> {
        let Some(object) = source.as_object() else {
            return Err(StorageError::InvalidArgument {
                name: "body".to_owned(),
                reason: "a JSON object".to_owned(),
            });
        };
        let context = Context { index, collection };
        check_object(&mut self.properties, self.dynamic, object, "", &context)
    }

    /// Returns whether [`Self::apply_document`] can add fields: whether some object level is
    /// `dynamic: true`. When it cannot, a failed check leaves the mapping unchanged too.
    pub fn can_grow(&self) -> bool {
        can_grow(&self.properties, self.dynamic)
    }

    /// Extracts the typed values of every mapped field of a source.
    pub fn index_document(&self, source: &Value) -> IndexedDocument {
        let mut indexed = IndexedDocument::default();
        if let Some(object) = source.as_object() {
            extract_object(&self.properties, object, "", &mut indexed);
        }
        indexed
    }
}

fn can_grow(properties: &BTreeMap<String, FieldMapping>, dynamic: Dynamic) -> bool {
    dynamic == Dynamic::True
        || properties.values().any(|field| {
            field.field_type.is_container()
                && can_grow(&field.properties, field.dynamic.unwrap_or(dynamic))
        })
}

struct Context<'a> {
    index: &'a str,
    collection: &'a str,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn check_object(
    properties: &mut BTreeMap<String, FieldMapping>,
    dynamic: Dynamic,
    object: &Map<String, Value>,
    prefix: &str,
    context: &Context<'_>,
) -> Result<bool> {
    let mut changed = false;
    for (name, value) in object {
        let path = join(prefix, name);
        if !properties.contains_key(name) {
            match dynamic {
                Dynamic::False => continue,
                Dynamic::Strict => {
                    return Err(StorageError::StrictMappingRejection {
                        field: path,
                        index: context.index.to_owned(),
                        collection: context.collection.to_owned(),
                    });
                }
                Dynamic::True => match infer_field(value) {
                    Some(field) => {
                        properties.insert(name.clone(), field);
                        changed = true;
                    }
                    None => continue,
                },
            }
        }
        let Some(field) = properties.get_mut(name) else {
            continue;
        };
        changed |= check_value(field, dynamic, value, &path, context)?;
    }
    Ok(changed)
}

fn check_value(
    field: &mut FieldMapping,
    inherited: Dynamic,
    value: &Value,
    path: &str,
    context: &Context<'_>,
) -> Result<bool> {
    if field.field_type.is_container() {
        let dynamic = field.dynamic.unwrap_or(inherited);
        let mut changed = false;
        for item in leaf_items(value, field.field_type) {
            let Some(object) = item.as_object() else {
                return Err(mismatch(path, field.field_type, item));
            };
            changed |= check_object(&mut field.properties, dynamic, object, path, context)?;
        }
        return Ok(changed);
    }
    for item in leaf_items(value, field.field_type) {
        if coerce(field.field_type, item).is_none() {
            return Err(mismatch(path, field.field_type, item));
        }
    }
    Ok(false)
}

fn mismatch(path: &str, field_type: FieldType, value: &Value) -> StorageError {
    let mut excerpt = value.to_string();
    if excerpt.len() > 64 {
        let cut = (0..=64)
            .rev()
            .find(|i| excerpt.is_char_boundary(*i))
            .unwrap_or(0);
        excerpt.truncate(cut);
        excerpt.push('…');
    }
    StorageError::FieldTypeMismatch {
        field: path.to_owned(),
        expected: field_type.name(),
        value: excerpt,
    }
}

/// Lists the values of a field, flattening arrays; a `[lon, lat]` pair stays one geo point.
fn leaf_items(value: &Value, field_type: FieldType) -> Vec<&Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) if field_type == FieldType::GeoPoint && is_lon_lat_pair(items) => {
            vec![value]
        }
        Value::Array(items) => items
            .iter()
            .flat_map(|item| leaf_items(item, field_type))
            .collect(),
        other => vec![other],
    }
}

fn is_lon_lat_pair(items: &[Value]) -> bool {
    items.len() == 2 && items.iter().all(Value::is_number)
}

/// Infers a mapping for a new field, as Elasticsearch's dynamic mapping does.
fn infer_field(value: &Value) -> Option<FieldMapping> {
    let field = match value {
        Value::Null => return None,
        Value::Array(items) => return items.iter().find_map(infer_field),
        Value::Bool(_) => FieldMapping::of_type(FieldType::Boolean),
        Value::Number(number) if number.is_f64() => FieldMapping::of_type(FieldType::Float),
        Value::Number(_) => FieldMapping::of_type(FieldType::Long),
        Value::String(text) if looks_like_date(text) => FieldMapping::of_type(FieldType::Date),
        Value::String(_) => {
            let mut keyword = FieldMapping::of_type(FieldType::Keyword);
            keyword
                .parameters
                .insert("ignore_above".to_owned(), Value::from(256));
            let mut text = FieldMapping::of_type(FieldType::Text);
            text.fields.insert("keyword".to_owned(), keyword);
            text
        }
        Value::Object(_) => FieldMapping::of_type(FieldType::Object),
    };
    Some(field)
}

fn looks_like_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && parse_date_millis(&Value::String(text.to_owned())).is_some()
}

fn extract_object(
    properties: &BTreeMap<String, FieldMapping>,
    object: &Map<String, Value>,
    prefix: &str,
    indexed: &mut IndexedDocument,
) {
    for (name, value) in object {
        let Some(field) = properties.get(name) else {
            continue;
        };
        let path = join(prefix, name);
        let items = leaf_items(value, field.field_type);
        if items.is_empty() {
            continue;
        }
        if field.field_type.is_container() {
            let before = indexed.present.len();
            for object in items.iter().filter_map(|item| item.as_object()) {
                extract_object(&field.properties, object, &path, indexed);
            }
            if indexed.present.len() > before {
                indexed.present.insert(path);
            }
            continue;
        }
        extract_leaf(field, &path, &items, indexed);
    }
}

fn extract_leaf(field: &FieldMapping, path: &str, items: &[&Value], indexed: &mut IndexedDocument) {
    let ignore_above = field.parameters.get("ignore_above").and_then(Value::as_u64);
    let mut any = false;
    for item in items {
        if let (Some(limit), Some(text)) = (ignore_above, item.as_str())
            && text.chars().count() as u64 > limit
        {
            continue;
        }
        if let Some(value) = coerce(field.field_type, item) {
            indexed.values.push((path.to_owned(), value));
            any = true;
        }
    }
    if any {
        indexed.present.insert(path.to_owned());
    }
    for (sub, multi) in &field.fields {
        let sub_path = format!("{path}.{sub}");
        extract_leaf(multi, &sub_path, items, indexed);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mapping(value: Value) -> Mapping {
        Mapping::parse(&value).unwrap()
    }

    #[test]
    fn strict_rejects_unknown_field() {
        let mut strict =
            mapping(json!({"dynamic": "strict", "properties": {"a": {"type": "long"}}}));
        let error = strict
            .apply_document(&json!({"a": 1, "b": 2}), "i", "c")
            .unwrap_err();
        assert_eq!(
            error.kuzzle_id(),
            "services.storage.strict_mapping_rejection"
        );
        assert_eq!(error.props()[0], "b");
    }

    #[test]
    fn type_mismatch_names_field() {
        let mut typed =
            mapping(json!({"properties": {"o": {"properties": {"n": {"type": "integer"}}}}}));
        let error = typed
            .apply_document(&json!({"o": {"n": "abc"}}), "i", "c")
            .unwrap_err();
        assert_eq!(error.kuzzle_id(), "services.storage.invalid_mapping");
        assert_eq!(error.props()[0], "o.n");
    }

    #[test]
    fn dynamic_true_adds_fields() {
        let mut open = mapping(json!({"dynamic": true}));
        let doc = json!({"n": 1, "f": 1.5, "s": "hi", "d": "2024-01-02", "o": {"b": true}});
        assert!(open.apply_document(&doc, "i", "c").unwrap());
        assert_eq!(open.leaf_type("n"), Some(FieldType::Long));
        assert_eq!(open.leaf_type("f"), Some(FieldType::Float));
        assert_eq!(open.leaf_type("s"), Some(FieldType::Text));
        assert_eq!(open.leaf_type("s.keyword"), Some(FieldType::Keyword));
        assert_eq!(open.leaf_type("d"), Some(FieldType::Date));
        assert_eq!(open.leaf_type("o.b"), Some(FieldType::Boolean));
        assert!(!open.apply_document(&doc, "i", "c").unwrap());
    }

    #[test]
    fn dynamic_false_skips_unmapped() {
        let closed = mapping(json!({"properties": {"a": {"type": "keyword"}}}));
        let indexed = closed.index_document(&json!({"a": ["x", "y"], "b": "z"}));
        assert_eq!(indexed.values.len(), 2);
        assert!(indexed.present.contains("a"));
        assert!(!indexed.present.contains("b"));
    }
}
