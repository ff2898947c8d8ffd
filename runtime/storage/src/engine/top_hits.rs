//! `top_hits` aggregations: the request is rewritten into tantivy's form (sort by fast fields,
//! document ids as doc values), and each result into Elasticsearch's, with sources read from
//! redb.

use serde_json::{Map, Value, json};

use crate::error::{Result, StorageError};
use crate::mapping::Mapping;
use crate::query::sort::{SortField, parse_sort};
use crate::query::source::SourceFilter;

/// Options of Elasticsearch's `top_hits` that have no equivalent here.
const UNSUPPORTED: &[&str] = &["highlight", "script_fields", "explain", "version", "fields"];

/// Reads a stored document by id: its version and source.
pub(super) type DocumentLoader<'a> = dyn Fn(&str) -> Result<Option<(u64, Value)>> + 'a;

/// Rewrites every `top_hits` of an aggregation request for tantivy.
pub(super) fn prepare(request: &Value) -> Result<Value> {
    let mut prepared = request.clone();
    if let Some(aggregations) = prepared.as_object_mut() {
        for aggregation in aggregations.values_mut() {
            prepare_one(aggregation)?;
        }
    }
    Ok(prepared)
}

fn prepare_one(aggregation: &mut Value) -> Result<()> {
    if let Some(top_hits) = aggregation
        .get_mut("top_hits")
        .and_then(Value::as_object_mut)
    {
        prepare_top_hits(top_hits)?;
    }
    for key in ["aggs", "aggregations"] {
        if let Some(children) = aggregation.get_mut(key).and_then(Value::as_object_mut) {
            for child in children.values_mut() {
                prepare_one(child)?;
            }
        }
    }
    Ok(())
}

fn prepare_top_hits(top_hits: &mut Map<String, Value>) -> Result<()> {
    if let Some(key) = top_hits
        .keys()
        .find(|key| UNSUPPORTED.contains(&key.as_str()))
    {
        return Err(StorageError::unsupported(format!("top_hits.{key}")));
    }
    top_hits.remove("_source");
    let mut tantivy_sort = Vec::new();
    if let Some(sort) = top_hits.get("sort") {
        for field in parse_sort(sort)? {
            let crate::query::sort::SortKey::Field(name) = &field.key else {
                return Err(StorageError::unsupported("top_hits sort on _score or _id"));
            };
            let order = if field.descending { "desc" } else { "asc" };
            tantivy_sort.push(json!({ name: order }));
        }
    }
    top_hits.insert("sort".to_owned(), Value::Array(tantivy_sort));
    top_hits.entry("size").or_insert(json!(3));
    top_hits.insert("docvalue_fields".to_owned(), json!(["_id"]));
    Ok(())
}

/// Rewrites the `top_hits` results of an aggregation response into Elasticsearch's shape:
/// `{"hits": {"hits": [{"_id", "_version", "_source", "sort"}]}}`.
pub(super) fn rewrite(
    request: &Value,
    result: &mut Value,
    mapping: &Mapping,
    load: &DocumentLoader<'_>,
) -> Result<()> {
    let (Some(request), Some(result)) = (request.as_object(), result.as_object_mut()) else {
        return Ok(());
    };
    for (name, aggregation) in request {
        let Some(output) = result.get_mut(name) else {
            continue;
        };
        if let Some(top_hits) = aggregation.get("top_hits") {
            rewrite_top_hits(top_hits, output, mapping, load)?;
        }
        let children = aggregation
            .get("aggs")
            .or_else(|| aggregation.get("aggregations"));
        let Some(children) = children else { continue };
        match output.get_mut("buckets") {
            Some(Value::Array(buckets)) => {
                for bucket in buckets {
                    rewrite(children, bucket, mapping, load)?;
                }
            }
            Some(Value::Object(buckets)) => {
                for bucket in buckets.values_mut() {
                    rewrite(children, bucket, mapping, load)?;
                }
            }
            _ => rewrite(children, output, mapping, load)?,
        }
    }
    Ok(())
}

fn rewrite_top_hits(
    request: &Value,
    output: &mut Value,
    mapping: &Mapping,
    load: &DocumentLoader<'_>,
) -> Result<()> {
    let sort: Vec<SortField> = match request.get("sort") {
        Some(sort) => parse_sort(sort)?,
        None => Vec::new(),
    };
    let filter = match request.get("_source") {
        Some(source) => SourceFilter::parse(source)?,
        None => SourceFilter::default(),
    };
    let entries = output
        .get("hits")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut hits = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(id) = entry
            .get("docvalue_fields")
            .and_then(|fields| fields.get("_id"))
            .and_then(first_string)
        else {
            continue;
        };
        let Some((version, source)) = load(&id)? else {
            continue;
        };
        let mut hit = json!({"_id": id, "_version": version, "_source": filter.apply(&source)});
        if !sort.is_empty() {
            let values: Vec<Value> = sort
                .iter()
                .map(|field| field.value_of(mapping, &id, 0.0, &source).to_json())
                .collect();
            hit["sort"] = Value::Array(values);
        }
        hits.push(hit);
    }
    *output = json!({"hits": {"hits": hits}});
    Ok(())
}

/// Finds the first string in a doc value, whatever its nesting.
fn first_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => items.iter().find_map(first_string),
        Value::Object(map) => map.values().find_map(first_string),
        _ => None,
    }
}
