//! Collection mappings in Elasticsearch form, with Kuzzle's `_kuzzle_info` common mapping.

mod document;
mod json;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use document::{IndexValue, IndexedDocument};

use crate::error::{Result, StorageError};

/// Name of the metadata object Kuzzle adds to every document.
pub const KUZZLE_INFO: &str = "_kuzzle_info";

/// An Elasticsearch field type supported by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Keyword,
    Text,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Date,
    GeoPoint,
    Object,
    Nested,
}

impl FieldType {
    /// Parses an Elasticsearch type name.
    pub fn parse(name: &str) -> Option<Self> {
        let field_type = match name {
            "keyword" => Self::Keyword,
            "text" => Self::Text,
            "integer" | "short" | "byte" => Self::Integer,
            "long" => Self::Long,
            "float" | "half_float" => Self::Float,
            "double" => Self::Double,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            "geo_point" => Self::GeoPoint,
            "object" => Self::Object,
            "nested" => Self::Nested,
            _ => return None,
        };
        Some(field_type)
    }

    /// Returns the Elasticsearch type name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Long => "long",
            Self::Float => "float",
            Self::Double => "double",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::GeoPoint => "geo_point",
            Self::Object => "object",
            Self::Nested => "nested",
        }
    }

    /// Returns whether the type contains sub-fields instead of a value.
    pub fn is_container(self) -> bool {
        matches!(self, Self::Object | Self::Nested)
    }

    /// Returns whether the type is numeric.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::Integer | Self::Long | Self::Float | Self::Double
        )
    }
}

/// The handling of fields that the mapping does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// The field is added to the mapping, with a type inferred from its value.
    True,
    /// The field is stored but not searchable (Kuzzle's default).
    False,
    /// The document is rejected.
    Strict,
}

/// The mapping of one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    pub field_type: FieldType,
    /// Sub-fields of an `object` or `nested` field.
    pub properties: BTreeMap<String, FieldMapping>,
    /// Multi-fields: the same value indexed again under `<field>.<name>`.
    pub fields: BTreeMap<String, FieldMapping>,
    /// `dynamic` of an `object` or `nested` field, inherited from its parent when absent.
    pub dynamic: Option<Dynamic>,
    /// Other parameters (`format`, `analyzer`, `ignore_above`...), kept as given.
    pub parameters: Map<String, Value>,
}

impl FieldMapping {
    /// Creates a mapping of the given type without parameters.
    pub fn of_type(field_type: FieldType) -> Self {
        Self {
            field_type,
            properties: BTreeMap::new(),
            fields: BTreeMap::new(),
            dynamic: None,
            parameters: Map::new(),
        }
    }
}

/// The mapping of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub dynamic: Dynamic,
    /// The `_meta` object, free for applications.
    pub meta: Value,
    pub properties: BTreeMap<String, FieldMapping>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            dynamic: Dynamic::False,
            meta: Value::Object(Map::new()),
            properties: BTreeMap::new(),
        }
    }
}

/// A searchable leaf field: a value type at a dotted path.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafField {
    pub path: String,
    pub field_type: FieldType,
    /// Path of the closest enclosing `nested` field, if any.
    pub nested_path: Option<String>,
}

impl Mapping {
    /// Parses `{dynamic, _meta, properties}`.
    ///
    /// # Errors
    ///
    /// [`StorageError::InvalidMapping`] or [`StorageError::InvalidMappingType`] naming the field.
    pub fn parse(value: &Value) -> Result<Self> {
        json::parse_mapping(value)
    }

    /// Returns the mapping with Kuzzle's `_kuzzle_info` fields added.
    pub fn with_kuzzle_info(mut self) -> Self {
        self.properties
            .insert(KUZZLE_INFO.to_owned(), kuzzle_info_mapping());
        self
    }

    /// Serializes to `{dynamic, _meta, properties}`, with or without `_kuzzle_info`.
    pub fn to_json(&self, include_kuzzle_info: bool) -> Value {
        json::mapping_to_json(self, include_kuzzle_info)
    }

    /// Adds the fields of `update` and takes its `dynamic` and `_meta` when given.
    ///
    /// # Errors
    ///
    /// [`StorageError::CannotChangeMapping`] when a field would change type.
    pub fn merge(&mut self, update: &Value) -> Result<()> {
        let parsed = json::parse_mapping(update)?;
        if let Some(Value::Object(_)) = update.get("_meta") {
            self.meta = parsed.meta;
        }
        if update.get("dynamic").is_some() {
            self.dynamic = parsed.dynamic;
        }
        merge_properties(&mut self.properties, parsed.properties, "")
    }

    /// Lists every searchable leaf field, multi-fields included, sorted by path.
    pub fn leaves(&self) -> Vec<LeafField> {
        let mut leaves = Vec::new();
        collect_leaves(&self.properties, "", None, &mut leaves);
        leaves
    }

    /// Finds the mapping of a dotted path, through object properties and multi-fields.
    pub fn lookup(&self, path: &str) -> Option<&FieldMapping> {
        let mut properties = &self.properties;
        let mut found: Option<&FieldMapping> = None;
        for segment in path.split('.') {
            let next = match found {
                Some(field) if !field.field_type.is_container() => field.fields.get(segment),
                _ => properties.get(segment),
            };
            let field = next?;
            properties = &field.properties;
            found = Some(field);
        }
        found
    }

    /// Returns the source path holding the values of a field: the parent for a multi-field
    /// such as `title.raw`, the path itself otherwise.
    pub fn source_path<'a>(&self, path: &'a str) -> &'a str {
        match path.rsplit_once('.') {
            Some((parent, _)) if self.leaf_type(parent).is_some() => parent,
            _ => path,
        }
    }

    /// Returns whether a leaf path is searchable, so in the search index.
    pub fn is_searchable(&self, path: &str) -> bool {
        self.lookup(path)
            .is_some_and(|field| !field.field_type.is_container() && is_indexed(field))
    }

    /// Returns the type of a leaf path, or `None` when the path is unmapped or an object.
    pub fn leaf_type(&self, path: &str) -> Option<FieldType> {
        self.lookup(path)
            .map(|field| field.field_type)
            .filter(|t| !t.is_container())
    }
}

fn kuzzle_info_mapping() -> FieldMapping {
    let mut info = FieldMapping::of_type(FieldType::Object);
    for (name, field_type) in [
        ("author", FieldType::Keyword),
        ("updater", FieldType::Keyword),
        ("createdAt", FieldType::Date),
        ("updatedAt", FieldType::Date),
    ] {
        info.properties
            .insert(name.to_owned(), FieldMapping::of_type(field_type));
    }
    info
}

fn merge_properties(
    target: &mut BTreeMap<String, FieldMapping>,
    update: BTreeMap<String, FieldMapping>,
    prefix: &str,
) -> Result<()> {
    for (name, field) in update {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let Some(existing) = target.get_mut(&name) else {
            target.insert(name, field);
            continue;
        };
        if existing.field_type != field.field_type {
            return Err(StorageError::CannotChangeMapping {
                field: path,
                from: existing.field_type.name().to_owned(),
                to: field.field_type.name().to_owned(),
            });
        }
        if field.dynamic.is_some() {
            existing.dynamic = field.dynamic;
        }
        existing.parameters.extend(field.parameters);
        merge_properties(&mut existing.fields, field.fields, &path)?;
        merge_properties(&mut existing.properties, field.properties, &path)?;
    }
    Ok(())
}

/// Returns whether a field is searchable: Elasticsearch's `index: false` stores it only.
fn is_indexed(field: &FieldMapping) -> bool {
    field.parameters.get("index") != Some(&Value::Bool(false))
}

fn collect_leaves(
    properties: &BTreeMap<String, FieldMapping>,
    prefix: &str,
    nested_path: Option<&str>,
    out: &mut Vec<LeafField>,
) {
    for (name, field) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match field.field_type {
            FieldType::Object => collect_leaves(&field.properties, &path, nested_path, out),
            FieldType::Nested => collect_leaves(&field.properties, &path, Some(&path), out),
            field_type => {
                let nested = nested_path.map(str::to_owned);
                if is_indexed(field) {
                    out.push(LeafField {
                        path: path.clone(),
                        field_type,
                        nested_path: nested.clone(),
                    });
                }
                for (sub, multi) in field.fields.iter().filter(|(_, multi)| is_indexed(multi)) {
                    out.push(LeafField {
                        path: format!("{path}.{sub}"),
                        field_type: multi.field_type,
                        nested_path: nested.clone(),
                    });
                }
            }
        }
    }
}
