//! Aggregations, run by tantivy's aggregation module on the fast fields of the search index.

use serde_json::Value;
use tantivy::Searcher;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::query::Query as TantivyQuery;

use super::top_hits::{self, DocumentLoader};
use crate::error::{Result, StorageError};
use crate::mapping::Mapping;

/// Aggregation types passed to tantivy, which accepts their Elasticsearch request shape.
const SUPPORTED: &[&str] = &[
    "terms",
    "range",
    "histogram",
    "date_histogram",
    "avg",
    "sum",
    "min",
    "max",
    "stats",
    "extended_stats",
    "value_count",
    "cardinality",
    "percentiles",
    "top_hits",
    "filter",
];

/// Runs an `aggregations` request and returns its Elasticsearch-shaped result.
///
/// # Errors
///
/// [`StorageError::UnknownQueryKeyword`] naming an unsupported aggregation type,
/// [`StorageError::InvalidSearchQuery`] when tantivy rejects the request (for example a
/// `terms` aggregation on a `text` field, which has no fast field).
pub(super) fn run(
    searcher: &Searcher,
    query: &dyn TantivyQuery,
    request: &Value,
    mapping: &Mapping,
    load: &DocumentLoader<'_>,
) -> Result<Value> {
    check_types(request)?;
    let prepared = top_hits::prepare(request)?;
    let aggregations: Aggregations = serde_json::from_value(prepared)
        .map_err(|error| StorageError::query(format!("invalid aggregations: {error}")))?;
    let collector = AggregationCollector::from_aggs(aggregations, AggContextParams::default());
    let results = searcher
        .search(query, &collector)
        .map_err(|error| StorageError::query(format!("aggregation failed: {error}")))?;
    let mut output = serde_json::to_value(results).map_err(StorageError::internal)?;
    top_hits::rewrite(request, &mut output, mapping, load)?;
    Ok(output)
}

fn check_types(request: &Value) -> Result<()> {
    let Some(aggregations) = request.as_object() else {
        return Err(StorageError::query("`aggregations` must be an object"));
    };
    for (name, aggregation) in aggregations {
        let Some(body) = aggregation.as_object() else {
            return Err(StorageError::query(format!(
                "aggregation `{name}` must be an object"
            )));
        };
        for (key, value) in body {
            match key.as_str() {
                "aggs" | "aggregations" => check_types(value)?,
                "meta" => {}
                "date_histogram" if value.get("calendar_interval").is_some() => {
                    return Err(StorageError::unsupported(
                        "date_histogram.calendar_interval (use fixed_interval)",
                    ));
                }
                kind if SUPPORTED.contains(&kind) => {}
                kind => return Err(StorageError::unsupported(format!("{kind} aggregation"))),
            }
        }
    }
    Ok(())
}
