//! Aggregations, run by tantivy's aggregation module on the fast fields of the search index.

use serde_json::Value;
use tantivy::Searcher;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::query::Query as TantivyQuery;

use super::calendar::{self, Unit};
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
    let mut prepared = top_hits::prepare(request)?;
    let calendar_plan = calendar::prepare(&mut prepared, searcher)?;
    rewrite_calendar_intervals(&mut prepared)?;
    let aggregations: Aggregations = serde_json::from_value(prepared)
        .map_err(|error| StorageError::query(format!("invalid aggregations: {error}")))?;
    let collector = AggregationCollector::from_aggs(aggregations, AggContextParams::default());
    let results = searcher
        .search(query, &collector)
        .map_err(|error| StorageError::query(format!("aggregation failed: {error}")))?;
    let mut output = serde_json::to_value(results).map_err(StorageError::internal)?;
    top_hits::rewrite(request, &mut output, mapping, load)?;
    calendar::finish(&calendar_plan, &mut output);
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
                "date_histogram" => {
                    if let Some(interval) = value.get("calendar_interval")
                        && Unit::parse(interval).is_none()
                    {
                        calendar_to_fixed(interval, value.get("offset").is_some())?;
                    }
                }
                kind if SUPPORTED.contains(&kind) => {}
                kind => return Err(StorageError::unsupported(format!("{kind} aggregation"))),
            }
        }
    }
    Ok(())
}

/// Rewrites `calendar_interval` of every `date_histogram` as the equal `fixed_interval`, which
/// is all tantivy accepts. The units of variable length were rewritten by [`calendar::prepare`].
fn rewrite_calendar_intervals(request: &mut Value) -> Result<()> {
    let Some(aggregations) = request.as_object_mut() else {
        return Ok(());
    };
    for aggregation in aggregations.values_mut() {
        if let Some(histogram) = aggregation
            .get_mut("date_histogram")
            .and_then(Value::as_object_mut)
            && let Some(interval) = histogram.remove("calendar_interval")
        {
            let (fixed, offset) = calendar_to_fixed(&interval, histogram.contains_key("offset"))?;
            histogram.insert("fixed_interval".to_owned(), Value::from(fixed));
            if let Some(offset) = offset {
                histogram.insert("offset".to_owned(), Value::from(offset));
            }
        }
        for key in ["aggs", "aggregations"] {
            if let Some(children) = aggregation.get_mut(key) {
                rewrite_calendar_intervals(children)?;
            }
        }
    }
    Ok(())
}

/// Maps a calendar interval to a fixed interval and offset, for the units of fixed length in
/// UTC: minute, hour, day, and week (7 days starting on Monday, 4 days after the Thursday epoch).
fn calendar_to_fixed(
    interval: &Value,
    has_offset: bool,
) -> Result<(&'static str, Option<&'static str>)> {
    let unsupported =
        || StorageError::unsupported(format!("date_histogram.calendar_interval {interval}"));
    match interval.as_str().ok_or_else(unsupported)? {
        "minute" | "1m" => Ok(("1m", None)),
        "hour" | "1h" => Ok(("1h", None)),
        "day" | "1d" => Ok(("1d", None)),
        "week" | "1w" if !has_offset => Ok(("7d", Some("+4d"))),
        _ => Err(unsupported()),
    }
}
