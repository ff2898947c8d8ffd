//! `date_histogram` with a calendar interval of variable length: month, quarter or year.
//!
//! tantivy only buckets dates by fixed intervals, so each such histogram runs as a `range`
//! aggregation over the calendar's bucket boundaries in UTC, and its result is rewritten into
//! Elasticsearch's histogram buckets. The boundaries span the field's values in the index (every
//! segment's fast-field minimum and maximum), widened by `extended_bounds` and narrowed by
//! `hard_bounds`. As in Elasticsearch, empty buckets between the first and the last non-empty
//! one are kept unless `min_doc_count` is above 0.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat};
use serde_json::{Map, Value, json};
use tantivy::Searcher;

use crate::error::{Result, StorageError};
use crate::query::value::parse_date_millis;

/// Maximum number of buckets in one histogram, Elasticsearch's default `search.max_buckets`.
const MAX_BUCKETS: usize = 65_536;

/// Options of `date_histogram` that this module reads. Any other is rejected by name.
const KNOWN_OPTIONS: &[&str] = &[
    "field",
    "calendar_interval",
    "min_doc_count",
    "keyed",
    "extended_bounds",
    "hard_bounds",
    "order",
    "time_zone",
];

/// A calendar unit whose length varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Month,
    Quarter,
    Year,
}

impl Unit {
    /// Returns the unit of an Elasticsearch `calendar_interval` of variable length, or `None`
    /// for the fixed ones (minute, hour, day, week).
    pub(super) fn parse(interval: &Value) -> Option<Self> {
        match interval.as_str()? {
            "month" | "1M" => Some(Self::Month),
            "quarter" | "1q" => Some(Self::Quarter),
            "year" | "1y" => Some(Self::Year),
            _ => None,
        }
    }

    fn months(self) -> u32 {
        match self {
            Self::Month => 1,
            Self::Quarter => 3,
            Self::Year => 12,
        }
    }

    /// Returns the start of the bucket that contains `date`.
    fn floor(self, date: NaiveDate) -> NaiveDate {
        let month0 = date.month0() - date.month0() % self.months();
        NaiveDate::from_ymd_opt(date.year(), month0 + 1, 1).unwrap_or(date)
    }
}

/// Bucket order: `_key` ascending unless the request sets another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Key { descending: bool },
    Count { descending: bool },
}

/// Options of one calendar histogram that the result rewrite reads.
#[derive(Debug)]
struct Options {
    min_doc_count: u64,
    keyed: bool,
    extended: Option<(i64, i64)>,
    order: Order,
}

/// The calendar histograms of one level of an aggregation request, and the plans of the
/// levels below, by aggregation name.
#[derive(Debug, Default)]
pub(super) struct Plan {
    histograms: BTreeMap<String, Options>,
    children: BTreeMap<String, Plan>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.histograms.is_empty() && self.children.is_empty()
    }
}

/// Rewrites every calendar histogram of variable length in `request` into a `range`
/// aggregation, and returns the plan that [`finish`] needs to rewrite the results.
///
/// # Errors
///
/// [`StorageError::UnknownQueryKeyword`] naming an option this engine does not support, and
/// [`StorageError::InvalidSearchQuery`] for an invalid option, a field that is not a date, or
/// more than 65,536 buckets.
pub(super) fn prepare(request: &mut Value, searcher: &Searcher) -> Result<Plan> {
    let mut plan = Plan::default();
    let Some(aggregations) = request.as_object_mut() else {
        return Ok(plan);
    };
    for (name, aggregation) in aggregations.iter_mut() {
        let Some(body) = aggregation.as_object_mut() else {
            continue;
        };
        let unit = body
            .get("date_histogram")
            .and_then(|histogram| histogram.get("calendar_interval"))
            .and_then(Unit::parse);
        if let Some(unit) = unit {
            let histogram = body.remove("date_histogram").unwrap_or_default();
            let (range, options) = to_range(name, &histogram, unit, searcher)?;
            body.insert("range".to_owned(), range);
            plan.histograms.insert(name.clone(), options);
        }
        for key in ["aggs", "aggregations"] {
            if let Some(children) = body.get_mut(key) {
                let child = prepare(children, searcher)?;
                if !child.is_empty() {
                    plan.children.insert(name.clone(), child);
                }
            }
        }
    }
    Ok(plan)
}

/// Builds the `range` aggregation of one histogram: one range per calendar bucket, keyed by
/// the bucket's start in epoch milliseconds.
fn to_range(
    name: &str,
    histogram: &Value,
    unit: Unit,
    searcher: &Searcher,
) -> Result<(Value, Options)> {
    let histogram = histogram.as_object().ok_or_else(|| {
        StorageError::query(format!(
            "aggregation `{name}`: date_histogram must be an object"
        ))
    })?;
    if let Some(key) = histogram
        .keys()
        .find(|key| !KNOWN_OPTIONS.contains(&key.as_str()))
    {
        return Err(StorageError::unsupported(format!(
            "date_histogram.{key} with a calendar_interval of month, quarter or year"
        )));
    }
    check_time_zone(histogram.get("time_zone"))?;
    let field = histogram
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            StorageError::query(format!(
                "aggregation `{name}`: date_histogram.field must be a string"
            ))
        })?;

    let options = Options {
        min_doc_count: parse_min_doc_count(name, histogram.get("min_doc_count"))?,
        keyed: histogram
            .get("keyed")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        extended: parse_bounds(name, "extended_bounds", histogram.get("extended_bounds"))?,
        order: parse_order(name, histogram.get("order"))?,
    };
    let hard = parse_bounds(name, "hard_bounds", histogram.get("hard_bounds"))?;

    let values = field_bounds(name, field, searcher)?;
    let span = widen(values, options.extended).map(|(low, high)| match hard {
        Some((min, max)) => (low.max(min), high.min(max)),
        None => (low, high),
    });
    let starts = match span {
        Some((low, high)) if low <= high => bucket_starts(name, unit, low, high)?,
        _ => Vec::new(),
    };

    let ranges: Vec<Value> = starts
        .windows(2)
        .map(|pair| {
            // Calendar boundaries fall on UTC midnights, whose nanosecond values are exact in
            // an f64, the type of tantivy's range bounds.
            json!({
                "key": pair[0].to_string(),
                "from": nanoseconds(pair[0]),
                "to": nanoseconds(pair[1]),
            })
        })
        .collect();
    let range = json!({"field": field, "ranges": ranges, "keyed": false});
    Ok((range, options))
}

fn check_time_zone(time_zone: Option<&Value>) -> Result<()> {
    match time_zone.map(|zone| zone.as_str()) {
        None | Some(Some("UTC" | "Z" | "+00:00" | "Etc/UTC")) => Ok(()),
        Some(_) => Err(StorageError::unsupported(format!(
            "date_histogram.time_zone {} (only UTC is supported)",
            time_zone.unwrap_or(&Value::Null)
        ))),
    }
}

fn parse_min_doc_count(name: &str, value: Option<&Value>) -> Result<u64> {
    match value {
        None => Ok(0),
        Some(count) => count.as_u64().ok_or_else(|| {
            StorageError::query(format!(
                "aggregation `{name}`: min_doc_count must be a non-negative integer, not {count}"
            ))
        }),
    }
}

/// Parses `{"min": date, "max": date}` into epoch milliseconds.
fn parse_bounds(name: &str, option: &str, value: Option<&Value>) -> Result<Option<(i64, i64)>> {
    let Some(value) = value else {
        return Ok(None);
    };
    let invalid = || {
        StorageError::query(format!(
            "aggregation `{name}`: {option} must be {{\"min\": date, \"max\": date}} with min <= \
             max, not {value}"
        ))
    };
    let min = value
        .get("min")
        .and_then(parse_date_millis)
        .ok_or_else(invalid)?;
    let max = value
        .get("max")
        .and_then(parse_date_millis)
        .ok_or_else(invalid)?;
    if min > max {
        return Err(invalid());
    }
    Ok(Some((min, max)))
}

fn parse_order(name: &str, value: Option<&Value>) -> Result<Order> {
    let Some(value) = value else {
        return Ok(Order::Key { descending: false });
    };
    let invalid = || {
        StorageError::unsupported(format!(
            "date_histogram.order {value} in aggregation `{name}` (use {{\"_key\": \"asc\"|\"desc\"}} \
             or {{\"_count\": \"asc\"|\"desc\"}})"
        ))
    };
    let (key, direction) = value
        .as_object()
        .filter(|order| order.len() == 1)
        .and_then(|order| order.iter().next())
        .ok_or_else(invalid)?;
    let descending = match direction.as_str() {
        Some("asc") => false,
        Some("desc") => true,
        _ => return Err(invalid()),
    };
    match key.as_str() {
        "_key" => Ok(Order::Key { descending }),
        "_count" => Ok(Order::Count { descending }),
        _ => Err(invalid()),
    }
}

/// Returns the smallest and largest value of `field` in the index, in epoch milliseconds, or
/// `None` when no document has one. Deleted documents still count, which only widens the span
/// that [`trim`] narrows again.
fn field_bounds(name: &str, field: &str, searcher: &Searcher) -> Result<Option<(i64, i64)>> {
    let schema = searcher.schema();
    let Ok(handle) = schema.get_field(field) else {
        return Ok(None);
    };
    if !matches!(
        schema.get_field_entry(handle).field_type(),
        tantivy::schema::FieldType::Date(_)
    ) {
        return Err(StorageError::query(format!(
            "aggregation `{name}`: calendar_interval requires a date field, and `{field}` is not one: use a field mapped as date"
        )));
    }
    let mut bounds: Option<(i64, i64)> = None;
    for segment in searcher.segment_readers() {
        let column = segment
            .fast_fields()
            .date(field)
            .map_err(StorageError::internal)?;
        if column.values.num_vals() == 0 {
            continue;
        }
        let low = column.min_value().into_timestamp_millis();
        let high = column.max_value().into_timestamp_millis();
        bounds = Some(match bounds {
            Some((min, max)) => (min.min(low), max.max(high)),
            None => (low, high),
        });
    }
    Ok(bounds)
}

fn widen(values: Option<(i64, i64)>, extended: Option<(i64, i64)>) -> Option<(i64, i64)> {
    match (values, extended) {
        (Some((low, high)), Some((min, max))) => Some((low.min(min), high.max(max))),
        (values, extended) => values.or(extended),
    }
}

/// Returns the starts of the buckets that cover `low..=high`, followed by the end of the last.
fn bucket_starts(name: &str, unit: Unit, low: i64, high: i64) -> Result<Vec<i64>> {
    let out_of_range = || {
        StorageError::query(format!(
            "aggregation `{name}`: the dates {low} to {high} (epoch ms) are out of range"
        ))
    };
    let first = DateTime::from_timestamp_millis(low).ok_or_else(out_of_range)?;
    let mut start = unit.floor(first.date_naive());
    let mut starts = Vec::new();
    loop {
        let millis = start
            .and_hms_opt(0, 0, 0)
            .ok_or_else(out_of_range)?
            .and_utc()
            .timestamp_millis();
        starts.push(millis);
        if millis > high {
            return Ok(starts);
        }
        if starts.len() > MAX_BUCKETS {
            return Err(StorageError::query(format!(
                "aggregation `{name}` would create more than {MAX_BUCKETS} buckets: narrow the \
                 dates with a query or with hard_bounds"
            )));
        }
        start = start
            .checked_add_months(chrono::Months::new(unit.months()))
            .ok_or_else(out_of_range)?;
    }
}

/// Converts epoch milliseconds to the nanoseconds of tantivy's date range bounds.
fn nanoseconds(millis: i64) -> f64 {
    (millis as f64) * 1e6
}

/// Rewrites the `range` results of the calendar histograms in `output` into histogram buckets.
pub(super) fn finish(plan: &Plan, output: &mut Value) {
    let Some(results) = output.as_object_mut() else {
        return;
    };
    for (name, options) in &plan.histograms {
        if let Some(result) = results.get_mut(name) {
            *result = histogram_result(result, options);
        }
    }
    for (name, child) in &plan.children {
        let Some(result) = results.get_mut(name) else {
            continue;
        };
        match result.get_mut("buckets") {
            Some(Value::Array(buckets)) => {
                buckets.iter_mut().for_each(|bucket| finish(child, bucket))
            }
            Some(Value::Object(buckets)) => buckets
                .values_mut()
                .for_each(|bucket| finish(child, bucket)),
            _ => finish(child, result),
        }
    }
}

fn histogram_result(range: &Value, options: &Options) -> Value {
    let mut buckets: Vec<(i64, Map<String, Value>)> = range
        .get("buckets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|bucket| {
            let start = bucket.get("key")?.as_str()?.parse::<i64>().ok()?;
            Some((start, histogram_bucket(start, bucket.as_object()?)))
        })
        .collect();
    trim(&mut buckets, options);
    sort(&mut buckets, options.order);

    if options.keyed {
        let keyed: Map<String, Value> = buckets
            .into_iter()
            .map(|(_, bucket)| {
                (
                    bucket["key_as_string"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    Value::Object(bucket),
                )
            })
            .collect();
        return json!({ "buckets": keyed });
    }
    let list: Vec<Value> = buckets
        .into_iter()
        .map(|(_, bucket)| Value::Object(bucket))
        .collect();
    json!({ "buckets": list })
}

/// Turns one range bucket into a histogram bucket: `key` in epoch milliseconds,
/// `key_as_string`, `doc_count` and the sub-aggregation results.
fn histogram_bucket(start: i64, range: &Map<String, Value>) -> Map<String, Value> {
    let mut bucket = Map::new();
    bucket.insert("key".to_owned(), Value::from(start));
    let text = DateTime::from_timestamp_millis(start)
        .map(|date| date.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default();
    bucket.insert("key_as_string".to_owned(), Value::from(text));
    bucket.insert(
        "doc_count".to_owned(),
        range.get("doc_count").cloned().unwrap_or(json!(0)),
    );
    for (key, value) in range {
        if !matches!(
            key.as_str(),
            "key" | "doc_count" | "from" | "to" | "from_as_string" | "to_as_string"
        ) {
            bucket.insert(key.clone(), value.clone());
        }
    }
    bucket
}

/// Keeps the buckets from the first to the last non-empty one, widened to `extended_bounds`,
/// then drops those under `min_doc_count`.
fn trim(buckets: &mut Vec<(i64, Map<String, Value>)>, options: &Options) {
    let count = |bucket: &Map<String, Value>| bucket["doc_count"].as_u64().unwrap_or(0);
    let filled: Vec<i64> = buckets
        .iter()
        .filter(|(_, bucket)| count(bucket) > 0)
        .map(|(start, _)| *start)
        .collect();
    let mut span = filled.first().copied().zip(filled.last().copied());
    if let Some((min, max)) = options.extended {
        span = Some(match span {
            Some((first, last)) => (first.min(min), last.max(max)),
            None => (min, max),
        });
    }
    let Some((first, last)) = span else {
        buckets.clear();
        return;
    };
    // A bucket belongs when it overlaps `first..=last`: its start is at most `last`, and the
    // next bucket's start is above `first`.
    let ends: Vec<i64> = buckets
        .iter()
        .skip(1)
        .map(|(start, _)| *start)
        .chain([i64::MAX])
        .collect();
    let mut position = 0;
    buckets.retain(|(start, bucket)| {
        let end = ends[position];
        position += 1;
        *start <= last && end > first && count(bucket) >= options.min_doc_count
    });
}

fn sort(buckets: &mut [(i64, Map<String, Value>)], order: Order) {
    let count = |bucket: &Map<String, Value>| bucket["doc_count"].as_u64().unwrap_or(0);
    match order {
        Order::Key { descending: false } => {}
        Order::Key { descending: true } => buckets.reverse(),
        Order::Count { descending } => buckets.sort_by(|(a_start, a), (b_start, b)| {
            let by_count = if descending {
                count(b).cmp(&count(a))
            } else {
                count(a).cmp(&count(b))
            };
            by_count.then(a_start.cmp(b_start))
        }),
    }
}
