//! Conformance cases for `range` at the edges: type limits, open and empty bounds, ranges in
//! every `bool` occurrence, and ranges with `sort` and `search_after`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{INDEX, ids, wait_for};
use crate::store::{CollectionConfig, DocumentStore, SearchRequest};

/// Collection seeded by [`seed_limits`].
const LIMITS: &str = "limits";

/// Creates the limits collection: `r1` and `r4` hold `i64::MIN` and `i64::MAX`, `r5` has two
/// `n` values, and `r6` has no value for any ranged field.
async fn seed_limits(store: &dyn DocumentStore) {
    if !store.index_exists(INDEX).await.unwrap() {
        store.create_index(INDEX).await.unwrap();
    }
    let mappings = json!({"properties": {
        "n": {"type": "long"}, "x": {"type": "double"}, "d": {"type": "date"},
        "flag": {"type": "boolean"}, "tag": {"type": "keyword"}
    }});
    let config = CollectionConfig {
        mappings: Some(mappings),
        settings: None,
    };
    store
        .create_collection(INDEX, LIMITS, config)
        .await
        .unwrap();
    let documents = [
        (
            "r1",
            json!({"n": i64::MIN, "x": -1.5, "d": "1970-01-01", "flag": false, "tag": "a"}),
        ),
        (
            "r2",
            json!({"n": -1, "x": 0.0, "d": "2020-02-29T12:00:00Z", "flag": true, "tag": "b"}),
        ),
        (
            "r3",
            json!({"n": 0, "x": 2.5, "d": "2020-03-01", "tag": "a"}),
        ),
        ("r4", json!({"n": i64::MAX, "x": 1e300, "d": "2100-01-01"})),
        ("r5", json!({"n": [5, 10], "tag": "b"})),
        ("r6", json!({"tag": "c"})),
    ];
    for (id, source) in documents {
        store
            .create(INDEX, LIMITS, Some(id), source, wait_for())
            .await
            .unwrap();
    }
}

/// Runs a search on the limits collection and returns the hit ids in result order.
async fn limits_ids(store: &dyn DocumentStore, body: Value) -> Vec<String> {
    let request = SearchRequest {
        body,
        size: Some(100),
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, LIMITS, request).await.unwrap();
    result.hits.into_iter().map(|hit| hit.id).collect()
}

async fn check(store: &dyn DocumentStore, query: Value, expected: &[&str]) {
    let mut found = limits_ids(store, json!({"query": query})).await;
    found.sort();
    assert_eq!(found, ids(expected), "query {query}");
}

pub async fn range_integer_limits(store: Arc<dyn DocumentStore>) {
    seed_limits(store.as_ref()).await;
    let store = store.as_ref();
    let with_n = ["r1", "r2", "r3", "r4", "r5"];
    check(store, json!({"range": {"n": {"gte": i64::MIN}}}), &with_n).await;
    check(store, json!({"range": {"n": {"lte": i64::MAX}}}), &with_n).await;
    let full = json!({"range": {"n": {"gte": i64::MIN, "lte": i64::MAX}}});
    check(store, full, &with_n).await;
    let above_min = ["r2", "r3", "r4", "r5"];
    check(store, json!({"range": {"n": {"gt": i64::MIN}}}), &above_min).await;
    let below_max = ["r1", "r2", "r3", "r5"];
    check(store, json!({"range": {"n": {"lt": i64::MAX}}}), &below_max).await;
    check(store, json!({"range": {"n": {"gt": i64::MAX}}}), &[]).await;
    check(store, json!({"range": {"n": {"lt": i64::MIN}}}), &[]).await;
    check(store, json!({"range": {"n": {"gte": i64::MAX}}}), &["r4"]).await;
    check(store, json!({"range": {"n": {"lte": i64::MIN}}}), &["r1"]).await;
}

pub async fn range_open_and_empty_bounds(store: Arc<dyn DocumentStore>) {
    seed_limits(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"range": {"n": {"gte": 0}}}),
        &["r3", "r4", "r5"],
    )
    .await;
    check(store, json!({"range": {"n": {"lt": 0}}}), &["r1", "r2"]).await;
    let all_with_n = ["r1", "r2", "r3", "r4", "r5"];
    check(store, json!({"range": {"n": {}}}), &all_with_n).await;
    check(store, json!({"range": {"n": {"gte": 3, "lt": 3}}}), &[]).await;
    check(store, json!({"range": {"n": {"gt": 3, "lte": 3}}}), &[]).await;
    check(store, json!({"range": {"n": {"gte": 10, "lte": 1}}}), &[]).await;
    check(store, json!({"range": {"n": {"gte": 3, "lte": 3}}}), &[]).await;
    // A document matches when any of its values is in the range.
    check(store, json!({"range": {"n": {"gte": 6, "lte": 9}}}), &[]).await;
    check(
        store,
        json!({"range": {"n": {"gte": 10, "lt": 11}}}),
        &["r5"],
    )
    .await;
    check(store, json!({"range": {"n": {"gt": 4, "lt": 6}}}), &["r5"]).await;
}

pub async fn range_float_date_boolean(store: Arc<dyn DocumentStore>) {
    seed_limits(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"range": {"x": {"gt": -1.5}}}),
        &["r2", "r3", "r4"],
    )
    .await;
    check(store, json!({"range": {"x": {"lte": 0.0}}}), &["r1", "r2"]).await;
    check(store, json!({"range": {"x": {"lt": 0.0}}}), &["r1"]).await;
    check(store, json!({"range": {"x": {"gte": 1e300}}}), &["r4"]).await;
    check(
        store,
        json!({"range": {"x": {"gt": 2.4, "lt": 2.6}}}),
        &["r3"],
    )
    .await;
    check(store, json!({"range": {"x": {"gt": 2.5, "lt": 2.5}}}), &[]).await;

    let leap_day = json!({"range": {"d": {"gte": "2020-02-29", "lt": "2020-03-01"}}});
    check(store, leap_day, &["r2"]).await;
    check(
        store,
        json!({"range": {"d": {"lt": "1970-01-02"}}}),
        &["r1"],
    )
    .await;
    check(store, json!({"range": {"d": {"lte": 0}}}), &["r1"]).await;
    check(
        store,
        json!({"range": {"d": {"gte": "2020-03-01"}}}),
        &["r3", "r4"],
    )
    .await;
    check(store, json!({"range": {"flag": {"gte": true}}}), &["r2"]).await;
    check(store, json!({"range": {"flag": {"lt": true}}}), &["r1"]).await;
}

pub async fn range_inside_bool(store: Arc<dyn DocumentStore>) {
    seed_limits(store.as_ref()).await;
    let store = store.as_ref();
    let below_zero = json!({"range": {"n": {"lt": 0}}});
    let from_zero = json!({"range": {"n": {"gte": 0}}});
    let must = json!({"bool": {"must": [{"term": {"tag": "a"}}, below_zero]}});
    check(store, must, &["r1"]).await;
    let filter = json!({"bool": {"must": [{"term": {"tag": "b"}}], "filter": [from_zero]}});
    check(store, filter, &["r5"]).await;
    let huge = json!({"range": {"x": {"gte": 1e300}}});
    let should = json!({"bool": {"should": [below_zero, huge]}});
    check(store, should, &["r1", "r2", "r4"]).await;
    let must_not = json!({"bool": {"must_not": [from_zero]}});
    check(store, must_not, &["r1", "r2", "r6"]).await;
    // A range `must` with a `should` next to it, inside `must_not`: the shape that made
    // tantivy 0.27's fast-field range scorer overflow.
    let scored_range = json!({"bool": {"must": [from_zero], "should": [{"term": {"tag": "a"}}]}});
    let nested = json!({"bool": {"must_not": [scored_range]}});
    check(store, nested, &["r1", "r2", "r6"]).await;
    let two_ranges = json!({"bool": {"must": [from_zero, {"range": {"n": {"lt": 10}}}]}});
    check(store, two_ranges, &["r3", "r5"]).await;
    let minimum = json!({"bool": {
        "should": [below_zero, {"range": {"x": {"lte": 0.0}}}, {"term": {"tag": "a"}}],
        "minimum_should_match": 2
    }});
    check(store, minimum, &["r1", "r2"]).await;
}

pub async fn range_with_sort_and_search_after(store: Arc<dyn DocumentStore>) {
    seed_limits(store.as_ref()).await;
    let store = store.as_ref();
    let query = json!({"range": {"n": {"gte": -1}}});
    let sort = json!([{"n": "asc"}, {"_id": "asc"}]);
    let sorted = limits_ids(store, json!({"query": query, "sort": sort})).await;
    assert_eq!(sorted, ids(&["r2", "r3", "r5", "r4"]));
    let after = json!({"query": query, "sort": sort, "search_after": [0, "r3"]});
    assert_eq!(limits_ids(store, after).await, ids(&["r5", "r4"]));
    let descending = json!([{"x": "desc"}, {"_id": "asc"}]);
    let body = json!({"query": {"range": {"x": {"lt": 1e300}}}, "sort": descending});
    assert_eq!(limits_ids(store, body).await, ids(&["r3", "r2", "r1"]));
    let body = json!({
        "query": {"bool": {"filter": [{"range": {"d": {"gte": "2000-01-01"}}}]}},
        "sort": [{"d": "desc"}], "search_after": [4_102_444_800_000_i64]
    });
    assert_eq!(limits_ids(store, body).await, ids(&["r3", "r2"]));
}
