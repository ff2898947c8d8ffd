//! Conversion between mappings and their Elasticsearch JSON form.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Dynamic, FieldMapping, FieldType, KUZZLE_INFO, Mapping};
use crate::error::{Result, StorageError};

pub(super) fn parse_mapping(value: &Value) -> Result<Mapping> {
    let Some(root) = value.as_object() else {
        return Err(invalid("", "a mapping must be an object"));
    };
    let mut mapping = Mapping::default();
    for (key, item) in root {
        match key.as_str() {
            "dynamic" => mapping.dynamic = parse_dynamic(item, "dynamic")?,
            "_meta" => {
                if !item.is_object() {
                    return Err(invalid("_meta", "`_meta` must be an object"));
                }
                mapping.meta = item.clone();
            }
            "properties" => mapping.properties = parse_properties(item, "")?,
            other => {
                return Err(invalid(
                    other,
                    "unknown mapping root key; use dynamic, _meta or properties",
                ));
            }
        }
    }
    Ok(mapping)
}

fn parse_dynamic(value: &Value, path: &str) -> Result<Dynamic> {
    match value {
        Value::Bool(true) => Ok(Dynamic::True),
        Value::Bool(false) => Ok(Dynamic::False),
        Value::String(text) if text == "true" => Ok(Dynamic::True),
        Value::String(text) if text == "false" => Ok(Dynamic::False),
        Value::String(text) if text == "strict" => Ok(Dynamic::Strict),
        _ => Err(invalid(path, "`dynamic` must be true, false or \"strict\"")),
    }
}

fn parse_properties(value: &Value, prefix: &str) -> Result<BTreeMap<String, FieldMapping>> {
    let Some(map) = value.as_object() else {
        return Err(invalid(prefix, "`properties` must be an object"));
    };
    let mut properties = BTreeMap::new();
    for (name, field) in map {
        if name.is_empty() || name.contains('.') {
            return Err(invalid(
                name,
                "a field name must be non-empty and contain no dot",
            ));
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        properties.insert(name.clone(), parse_field(field, &path)?);
    }
    Ok(properties)
}

fn parse_field(value: &Value, path: &str) -> Result<FieldMapping> {
    let Some(map) = value.as_object() else {
        return Err(invalid(path, "a field mapping must be an object"));
    };
    let field_type = match map.get("type") {
        None => FieldType::Object,
        Some(Value::String(name)) => {
            FieldType::parse(name).ok_or_else(|| StorageError::InvalidMappingType {
                field: path.to_owned(),
                type_name: name.clone(),
            })?
        }
        Some(_) => return Err(invalid(path, "`type` must be a string")),
    };
    let mut field = FieldMapping::of_type(field_type);
    for (key, item) in map {
        match key.as_str() {
            "type" => {}
            "properties" if field_type.is_container() => {
                field.properties = parse_properties(item, path)?;
            }
            "dynamic" if field_type.is_container() => {
                field.dynamic = Some(parse_dynamic(item, path)?);
            }
            "fields" if !field_type.is_container() => {
                field.fields = parse_multi_fields(item, path)?
            }
            "properties" | "dynamic" | "fields" => {
                let reason = format!("`{key}` is not allowed on a `{}` field", field_type.name());
                return Err(invalid(path, &reason));
            }
            _ => {
                field.parameters.insert(key.clone(), item.clone());
            }
        }
    }
    Ok(field)
}

fn parse_multi_fields(value: &Value, path: &str) -> Result<BTreeMap<String, FieldMapping>> {
    let fields = parse_properties(value, path)?;
    if let Some((name, _)) = fields.iter().find(|(_, f)| f.field_type.is_container()) {
        return Err(invalid(
            &format!("{path}.{name}"),
            "a multi-field cannot be an object",
        ));
    }
    Ok(fields)
}

/// Builds the error of a malformed mapping; the reason becomes a sentence of the message.
fn invalid(path: &str, reason: &str) -> StorageError {
    let mut chars = reason.chars();
    let mut sentence: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    sentence.push_str(chars.as_str());
    sentence.push('.');
    StorageError::InvalidMapping {
        path: path.to_owned(),
        reason: sentence,
    }
}

pub(super) fn mapping_to_json(mapping: &Mapping, include_kuzzle_info: bool) -> Value {
    let properties = mapping
        .properties
        .iter()
        .filter(|(name, _)| include_kuzzle_info || name.as_str() != KUZZLE_INFO)
        .map(|(name, field)| (name.clone(), field_to_json(field)))
        .collect::<Map<_, _>>();
    json!({
        "dynamic": dynamic_to_json(mapping.dynamic),
        "_meta": mapping.meta,
        "properties": properties,
    })
}

fn dynamic_to_json(dynamic: Dynamic) -> Value {
    match dynamic {
        Dynamic::True => json!("true"),
        Dynamic::False => json!("false"),
        Dynamic::Strict => json!("strict"),
    }
}

fn field_to_json(field: &FieldMapping) -> Value {
    let mut map = Map::new();
    if field.field_type != FieldType::Object || field.properties.is_empty() {
        map.insert("type".to_owned(), json!(field.field_type.name()));
    }
    if let Some(dynamic) = field.dynamic {
        map.insert("dynamic".to_owned(), dynamic_to_json(dynamic));
    }
    for (key, value) in &field.parameters {
        map.insert(key.clone(), value.clone());
    }
    if !field.properties.is_empty() {
        let properties = field
            .properties
            .iter()
            .map(|(k, f)| (k.clone(), field_to_json(f)));
        map.insert("properties".to_owned(), Value::Object(properties.collect()));
    }
    if !field.fields.is_empty() {
        let fields = field
            .fields
            .iter()
            .map(|(k, f)| (k.clone(), field_to_json(f)));
        map.insert("fields".to_owned(), Value::Object(fields.collect()));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn mapping_round_trips() {
        let input = json!({
            "dynamic": "strict",
            "_meta": {"owner": "ops"},
            "properties": {
                "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                "address": {"properties": {"city": {"type": "keyword"}}},
                "tags": {"type": "nested", "properties": {"label": {"type": "keyword"}}},
                "born": {"type": "date", "format": "epoch_millis"}
            }
        });
        let mapping = Mapping::parse(&input).unwrap();
        assert_eq!(mapping.to_json(false), input);
    }

    #[test]
    fn unknown_type_names_field() {
        let error = Mapping::parse(&json!({"properties": {"a": {"type": "bogus"}}})).unwrap_err();
        assert_eq!(error.kuzzle_id(), "services.storage.invalid_mapping_type");
        assert_eq!(error.props(), vec!["a".to_owned(), "bogus".to_owned()]);
    }

    #[test]
    fn merge_rejects_type_change() {
        let mut mapping =
            Mapping::parse(&json!({"properties": {"a": {"type": "keyword"}}})).unwrap();
        mapping
            .merge(&json!({"properties": {"b": {"type": "long"}}}))
            .unwrap();
        assert!(mapping.lookup("b").is_some());
        let error = mapping
            .merge(&json!({"properties": {"a": {"type": "long"}}}))
            .unwrap_err();
        assert_eq!(error.kuzzle_id(), "services.storage.cannot_change_mapping");
    }

    #[test]
    fn lookup_finds_multi_fields() {
        let mapping = Mapping::parse(&json!({"properties": {
            "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "a": {"properties": {"b": {"type": "long"}}}
        }}))
        .unwrap();
        assert_eq!(mapping.leaf_type("name.raw"), Some(FieldType::Keyword));
        assert_eq!(mapping.leaf_type("a.b"), Some(FieldType::Long));
        assert_eq!(mapping.leaf_type("a"), None);
        assert_eq!(mapping.leaf_type("zzz"), None);
    }
}
