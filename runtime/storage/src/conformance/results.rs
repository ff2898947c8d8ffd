//! Conformance cases for sort, pagination, `_source`, scroll, count, aggregations, highlight.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{BOOKS, INDEX, error_id, ids, search_ids, seed_books};
use crate::store::{DocumentStore, SearchRequest};

pub async fn sort_by_fields(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    let by_year = search_ids(store, json!({"sort": [{"year": "asc"}, "_id"]})).await;
    assert_eq!(by_year, ids(&["b4", "b1", "b2", "b3", "b6", "b5"]));
    let by_title = search_ids(store, json!({"sort": {"title.raw": "asc"}})).await;
    assert_eq!(by_title, ids(&["b3", "b2", "b6", "b4", "b1", "b5"]));
    let by_id_desc = search_ids(store, json!({"sort": [{"_id": {"order": "desc"}}]})).await;
    assert_eq!(by_id_desc, ids(&["b6", "b5", "b4", "b3", "b2", "b1"]));
    let by_date = search_ids(store, json!({"sort": [{"published": "desc"}]})).await;
    assert_eq!(by_date, ids(&["b5", "b6", "b2", "b3", "b1", "b4"]));
    // Multi-valued fields sort on their smallest value ascending, their largest descending.
    let filtered =
        json!({"query": {"terms": {"_id": ["b1", "b3", "b6"]}}, "sort": [{"tags": "asc"}]});
    assert_eq!(search_ids(store, filtered).await, ids(&["b3", "b1", "b6"]));
    let filtered =
        json!({"query": {"terms": {"_id": ["b1", "b3", "b6"]}}, "sort": [{"tags": "desc"}]});
    assert_eq!(search_ids(store, filtered).await, ids(&["b6", "b1", "b3"]));
}

pub async fn sort_missing_values(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    let desc = search_ids(store, json!({"sort": [{"price": "desc"}]})).await;
    assert_eq!(desc, ids(&["b2", "b6", "b1", "b4", "b3", "b5"]));
    let first = search_ids(
        store,
        json!({"sort": [{"price": {"order": "asc", "missing": "_first"}}]}),
    )
    .await;
    assert_eq!(first, ids(&["b5", "b3", "b4", "b1", "b6", "b2"]));
    let value = search_ids(
        store,
        json!({"sort": [{"price": {"order": "asc", "missing": 36}}]}),
    )
    .await;
    assert_eq!(value, ids(&["b3", "b4", "b5", "b1", "b6", "b2"]));
}

pub async fn sort_on_text_rejected(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    for field in ["title", "note"] {
        let request = SearchRequest {
            body: json!({"sort": [field]}),
            ..SearchRequest::default()
        };
        let error = store.search(INDEX, BOOKS, request).await.unwrap_err();
        assert_eq!(
            error.kuzzle_id(),
            "services.storage.invalid_search_query",
            "{field}"
        );
        assert!(error.to_string().contains(field));
    }
}

pub async fn from_and_size(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let body = json!({"sort": [{"year": "asc"}, "_id"], "from": 2, "size": 2});
    let request = SearchRequest {
        body: body.clone(),
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, request).await.unwrap();
    assert_eq!(result.total, 6);
    let page: Vec<_> = result.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(page, vec!["b2", "b3"]);
    // Arguments override the body.
    let request = SearchRequest {
        body,
        from: Some(4),
        size: Some(10),
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, request).await.unwrap();
    let page: Vec<_> = result.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(page, vec!["b6", "b5"]);
    // Default size is 10.
    let result = store
        .search(INDEX, BOOKS, SearchRequest::default())
        .await
        .unwrap();
    assert_eq!(result.hits.len(), 6);
    let none = SearchRequest {
        size: Some(0),
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, none).await.unwrap();
    assert!(result.hits.is_empty());
    assert_eq!(result.total, 6);
}

pub async fn search_after_pages(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let request = |after: Option<Value>| {
        let mut body = json!({"sort": [{"year": "asc"}, {"_id": "asc"}], "size": 2});
        if let Some(after) = after {
            body["search_after"] = after;
        }
        SearchRequest {
            body,
            ..SearchRequest::default()
        }
    };
    let first = store.search(INDEX, BOOKS, request(None)).await.unwrap();
    assert_eq!(first.hits[0].sort, Some(vec![json!(2015), json!("b4")]));
    let last = first.hits.last().unwrap().sort.clone().unwrap();
    assert_eq!(last, vec![json!(2018), json!("b1")]);
    let second = store
        .search(INDEX, BOOKS, request(Some(json!(last))))
        .await
        .unwrap();
    let page: Vec<_> = second.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(page, vec!["b2", "b3"]);
    let third = store
        .search(INDEX, BOOKS, request(Some(json!([2021, "b3"]))))
        .await
        .unwrap();
    let page: Vec<_> = third.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(page, vec!["b6", "b5"]);
    let without_sort = SearchRequest {
        body: json!({"search_after": [1]}),
        ..SearchRequest::default()
    };
    assert_eq!(
        error_id(store.search(INDEX, BOOKS, without_sort).await),
        "services.storage.invalid_search_query"
    );
}

pub async fn source_filtering(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let search = |source: Value| {
        let body = json!({"query": {"ids": {"values": ["b1"]}}, "_source": source});
        let store = store.clone();
        async move {
            let request = SearchRequest {
                body,
                ..SearchRequest::default()
            };
            store
                .search(INDEX, BOOKS, request)
                .await
                .unwrap()
                .hits
                .remove(0)
                .source
        }
    };
    assert_eq!(
        search(json!(["title", "year"])).await,
        Some(json!({"title": "The Rust Programming Language", "year": 2018}))
    );
    assert_eq!(search(json!(false)).await, None);
    let excluded = search(json!({"excludes": ["reviews", "location", "tags"]}))
        .await
        .unwrap();
    assert_eq!(excluded.as_object().unwrap().len(), 6);
    assert!(excluded.get("reviews").is_none());
    let nested = search(json!({"includes": ["reviews.user"]})).await.unwrap();
    assert_eq!(
        nested,
        json!({"reviews": [{"user": "ann"}, {"user": "bob"}]})
    );
    let wildcard = search(json!({"includes": ["ti*"], "excludes": ["year"]}))
        .await
        .unwrap();
    assert_eq!(wildcard, json!({"title": "The Rust Programming Language"}));
}

pub async fn scroll_pages(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let body = json!({"sort": ["_id"]});
    let request = SearchRequest {
        body,
        size: Some(2),
        scroll: Some(Duration::from_secs(30)),
        ..SearchRequest::default()
    };
    let first = store.search(INDEX, BOOKS, request).await.unwrap();
    assert_eq!(first.total, 6);
    assert_eq!(first.remaining, Some(4));
    let scroll_id = first.scroll_id.clone().expect("a scroll id");
    let mut pages = vec![
        first
            .hits
            .iter()
            .map(|hit| hit.id.clone())
            .collect::<Vec<_>>(),
    ];
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let page = store
            .scroll(&scroll_id, Some(Duration::from_secs(30)))
            .await
            .unwrap();
        assert_eq!(page.total, 6);
        remaining.push(page.remaining.unwrap());
        pages.push(page.hits.into_iter().map(|hit| hit.id).collect());
    }
    assert_eq!(
        pages,
        vec![
            ids(&["b1", "b2"]),
            ids(&["b3", "b4"]),
            ids(&["b5", "b6"]),
            ids(&[])
        ]
    );
    assert_eq!(remaining, vec![2, 0, 0]);
    assert_eq!(
        error_id(store.scroll("not-a-scroll", None).await),
        "services.storage.unknown_scroll_id"
    );

    let short = SearchRequest {
        scroll: Some(Duration::from_millis(50)),
        size: Some(1),
        ..SearchRequest::default()
    };
    let expiring = store
        .search(INDEX, BOOKS, short)
        .await
        .unwrap()
        .scroll_id
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        error_id(store.scroll(&expiring, None).await),
        "services.storage.unknown_scroll_id"
    );

    let too_long = SearchRequest {
        scroll: Some(Duration::from_secs(3600)),
        ..SearchRequest::default()
    };
    assert_eq!(
        error_id(store.search(INDEX, BOOKS, too_long).await),
        "services.storage.scroll_duration_too_great"
    );
}

pub async fn count_matches(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    assert_eq!(
        store
            .count(INDEX, BOOKS, json!({"term": {"tags": "rust"}}))
            .await
            .unwrap(),
        3
    );
    assert_eq!(store.count(INDEX, BOOKS, json!({})).await.unwrap(), 6);
    assert_eq!(store.count(INDEX, BOOKS, Value::Null).await.unwrap(), 6);
    assert_eq!(
        error_id(store.count(INDEX, BOOKS, json!({"nope": {}})).await),
        "services.storage.unknown_query_keyword"
    );
}

pub async fn scores_rank(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let body = json!({"query": {"match": {"title": "rust programming"}}});
    let result = store
        .search(
            INDEX,
            BOOKS,
            SearchRequest {
                body,
                ..SearchRequest::default()
            },
        )
        .await
        .unwrap();
    let scores: Vec<f32> = result.hits.iter().map(|hit| hit.score).collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );
    assert!(scores.iter().all(|score| *score > 0.0));
    // Documents with both terms outrank documents with one.
    let top: Vec<_> = result
        .hits
        .iter()
        .take(2)
        .map(|hit| hit.id.as_str())
        .collect();
    assert!(top.contains(&"b1"), "{top:?}");
    assert!(top.contains(&"b2"), "{top:?}");
    let sorted = json!({"query": {"match": {"title": "rust"}}, "sort": ["_score", "_id"]});
    let result = store
        .search(
            INDEX,
            BOOKS,
            SearchRequest {
                body: sorted,
                ..SearchRequest::default()
            },
        )
        .await
        .unwrap();
    assert!(
        result
            .hits
            .windows(2)
            .all(|pair| pair[0].score >= pair[1].score)
    );
}

pub async fn aggregations_compute(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let body = json!({"size": 0, "aggs": {
        "by_tag": {"terms": {"field": "tags"}},
        "avg_price": {"avg": {"field": "price"}},
        "max_year": {"max": {"field": "year"}},
        "min_year": {"min": {"field": "year"}},
        "total_price": {"sum": {"field": "price"}},
        "priced": {"value_count": {"field": "price"}},
        "year_stats": {"stats": {"field": "year"}},
        "distinct_tags": {"cardinality": {"field": "tags"}},
        "decades": {"histogram": {"field": "year", "interval": 10}},
        "price_ranges": {"range": {"field": "price", "ranges": [{"to": 40}, {"from": 40}]}},
        "per_month": {"date_histogram": {"field": "published", "fixed_interval": "30d"}},
        "by_author": {"terms": {"field": "author", "size": 2, "order": {"_key": "asc"}}, "aggs": {"avg_year": {"avg": {"field": "year"}}}}
    }});
    let request = SearchRequest {
        body,
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, request).await.unwrap();
    assert!(result.hits.is_empty());
    let aggs = result.aggregations.expect("aggregations");
    let buckets: Vec<(String, u64)> = aggs["by_tag"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| {
            (
                bucket["key"].as_str().unwrap().to_owned(),
                bucket["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [("rust", 3), ("go", 2), ("programming", 2), ("systems", 1)];
    assert_eq!(buckets, expected.map(|(k, c)| (k.to_owned(), c)).to_vec());
    let close = |value: &Value, expected: f64| (value.as_f64().unwrap() - expected).abs() < 1e-6;
    assert!(
        close(&aggs["avg_price"]["value"], 198.49 / 5.0),
        "{}",
        aggs["avg_price"]
    );
    assert!(close(&aggs["max_year"]["value"], 2022.0));
    assert!(close(&aggs["min_year"]["value"], 2015.0));
    assert!(close(&aggs["total_price"]["value"], 198.49));
    assert!(close(&aggs["priced"]["value"], 5.0));
    assert_eq!(aggs["year_stats"]["count"], 6);
    assert!(close(&aggs["year_stats"]["sum"], 12118.0));
    assert!(close(&aggs["distinct_tags"]["value"], 4.0));
    let decades: Vec<u64> = aggs["decades"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .collect();
    assert_eq!(decades, vec![2, 4]);
    let ranges: Vec<u64> = aggs["price_ranges"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .collect();
    assert_eq!(ranges, vec![3, 2]);
    let months: Vec<u64> = aggs["per_month"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .filter(|c| *c > 0)
        .collect();
    assert_eq!(months, vec![1, 1, 1, 1, 1, 1]);
    let weekly = json!({"size": 0, "aggs": {"w": {"date_histogram": {"field": "published", "calendar_interval": "week", "min_doc_count": 1}}}});
    let weekly = SearchRequest {
        body: weekly,
        ..SearchRequest::default()
    };
    let weeks = store
        .search(INDEX, BOOKS, weekly)
        .await
        .unwrap()
        .aggregations
        .unwrap();
    let first_week = &weeks["w"]["buckets"][0];
    // b4 was published on Sunday 2015-11-01, in the week starting Monday 2015-10-26.
    assert_eq!(
        first_week["key"].as_f64(),
        Some(1_445_817_600_000.0),
        "{first_week}"
    );
    assert_eq!(first_week["doc_count"], 1);
    let authors = aggs["by_author"]["buckets"].as_array().unwrap();
    assert_eq!(authors.len(), 2);
    assert_eq!(authors[0]["key"], "blandy");
    assert!(close(&authors[0]["avg_year"]["value"], 2021.0));

    let body = json!({"size": 0, "aggs": {
        "p": {"percentiles": {"field": "year", "percents": [50]}},
        "x": {"extended_stats": {"field": "price"}},
        "by_tag": {"terms": {"field": "tags", "size": 1}, "aggs": {
            "newest": {"top_hits": {"size": 2, "sort": [{"year": {"order": "desc"}}], "_source": ["title"]}}
        }}
    }});
    let result = store
        .search(
            INDEX,
            BOOKS,
            SearchRequest {
                body,
                ..SearchRequest::default()
            },
        )
        .await
        .unwrap();
    let aggs = result.aggregations.expect("aggregations");
    assert!(!aggs["p"]["values"].is_null(), "{}", aggs["p"]);
    assert!(close(&aggs["x"]["max"], 49.0), "{}", aggs["x"]);
    let rust = &aggs["by_tag"]["buckets"][0];
    assert_eq!(rust["key"], "rust");
    let newest = rust["newest"]["hits"]["hits"]
        .as_array()
        .expect("top_hits hits");
    let mut newest_ids: Vec<_> = newest
        .iter()
        .map(|hit| hit["_id"].as_str().unwrap())
        .collect();
    newest_ids.sort();
    assert_eq!(newest_ids, vec!["b2", "b6"]);
    for hit in newest {
        assert_eq!(hit["sort"], json!([2021]), "{hit}");
        assert_eq!(hit["_source"].as_object().unwrap().len(), 1, "{hit}");
    }
    let b2 = newest.iter().find(|hit| hit["_id"] == "b2").unwrap();
    assert_eq!(b2["_source"], json!({"title": "Programming Rust"}));

    let text = SearchRequest {
        body: json!({"aggs": {"t": {"terms": {"field": "title"}}}}),
        ..SearchRequest::default()
    };
    assert!(store.search(INDEX, BOOKS, text).await.is_err());
}

/// Runs one aggregation request on the books and returns its aggregations.
async fn aggregate(store: &dyn DocumentStore, aggs: Value) -> Value {
    let request = SearchRequest {
        body: json!({"size": 0, "aggs": aggs}),
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, request).await.unwrap();
    result.aggregations.expect("aggregations")
}

/// Returns the `(key, doc_count)` pairs of a histogram's bucket list.
fn histogram_counts(result: &Value) -> Vec<(i64, u64)> {
    result["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("buckets list in {result}"))
        .iter()
        .map(|bucket| {
            (
                bucket["key"].as_i64().unwrap(),
                bucket["doc_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `date_histogram` with calendar months, quarters and years, in UTC. The books were published
/// on 2015-11-01, 2018-08-01, 2021-01-01, 2021-06-15, 2021-08-01 and 2022-05-01.
pub async fn calendar_histograms(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let year = |y: i32| month_start_millis(y, 1);
    let aggs = aggregate(
        store.as_ref(),
        json!({
            "years": {"date_histogram": {"field": "published", "calendar_interval": "year"}},
            "quarters": {"date_histogram": {"field": "published", "calendar_interval": "1q", "min_doc_count": 1}},
            "months_2021": {"date_histogram": {"field": "published", "calendar_interval": "month",
                "hard_bounds": {"min": "2021-01-01", "max": "2021-12-31"},
                "extended_bounds": {"min": "2021-01-01", "max": "2021-12-31"}}},
            "busiest": {"date_histogram": {"field": "published", "calendar_interval": "year",
                "min_doc_count": 1, "order": {"_count": "desc"}}},
            "keyed": {"date_histogram": {"field": "published", "calendar_interval": "year",
                "keyed": true, "hard_bounds": {"min": "2021-01-01", "max": "2022-12-31"}}},
            "by_year_prices": {"date_histogram": {"field": "published", "calendar_interval": "year",
                "min_doc_count": 1}, "aggs": {"total": {"sum": {"field": "price"}}}}
        }),
    )
    .await;

    // Empty years between the first and the last book are buckets too.
    let expected_years: Vec<(i64, u64)> = (2015..=2022)
        .map(|y| {
            (
                year(y),
                match y {
                    2015 | 2018 | 2022 => 1,
                    2021 => 3,
                    _ => 0,
                },
            )
        })
        .collect();
    assert_eq!(histogram_counts(&aggs["years"]), expected_years);
    assert_eq!(
        aggs["years"]["buckets"][0]["key_as_string"],
        "2015-01-01T00:00:00Z"
    );

    let expected_quarters = vec![
        (month_start_millis(2015, 10), 1),
        (month_start_millis(2018, 7), 1),
        (month_start_millis(2021, 1), 1),
        (month_start_millis(2021, 4), 1),
        (month_start_millis(2021, 7), 1),
        (month_start_millis(2022, 4), 1),
    ];
    assert_eq!(histogram_counts(&aggs["quarters"]), expected_quarters);

    // hard_bounds keeps the three books of 2021, and extended_bounds fills the whole year.
    let months = histogram_counts(&aggs["months_2021"]);
    let expected_months: Vec<(i64, u64)> = (1..=12)
        .map(|m| {
            (
                month_start_millis(2021, m),
                u64::from(matches!(m, 1 | 6 | 8)),
            )
        })
        .collect();
    assert_eq!(months, expected_months);

    let busiest = histogram_counts(&aggs["busiest"]);
    assert_eq!(busiest[0], (year(2021), 3));
    assert_eq!(busiest.len(), 4);

    let keyed = aggs["keyed"]["buckets"].as_object().expect("keyed buckets");
    assert_eq!(keyed.len(), 2, "{keyed:?}");
    assert_eq!(keyed["2021-01-01T00:00:00Z"]["doc_count"], 3);
    assert_eq!(keyed["2022-01-01T00:00:00Z"]["doc_count"], 1);

    // b2 (49.0), b3 (29.99) and b6 (45.0) were published in 2021.
    let totals = aggs["by_year_prices"]["buckets"].as_array().unwrap();
    let total_2021 = totals
        .iter()
        .find(|bucket| bucket["key"] == year(2021))
        .unwrap();
    assert!(
        (total_2021["total"]["value"].as_f64().unwrap() - 123.99).abs() < 1e-6,
        "{total_2021}"
    );

    // A calendar histogram under a terms aggregation gets its own buckets per term.
    let nested = aggregate(
        store.as_ref(),
        json!({"by_tag": {"terms": {"field": "tags", "order": {"_key": "asc"}}, "aggs": {
            "y": {"date_histogram": {"field": "published", "calendar_interval": "year"}}}}}),
    )
    .await;
    let go = &nested["by_tag"]["buckets"][0];
    assert_eq!(go["key"], "go");
    let go_years: Vec<(i64, u64)> = (2015..=2021)
        .map(|y| (year(y), u64::from(matches!(y, 2015 | 2021))))
        .collect();
    assert_eq!(histogram_counts(&go["y"]), go_years);

    for (body, id) in [
        (
            json!({"date_histogram": {"field": "published", "calendar_interval": "month", "time_zone": "Europe/Paris"}}),
            "services.storage.unknown_query_keyword",
        ),
        (
            json!({"date_histogram": {"field": "published", "calendar_interval": "month", "format": "yyyy-MM"}}),
            "services.storage.unknown_query_keyword",
        ),
        (
            json!({"date_histogram": {"field": "published", "calendar_interval": "2M"}}),
            "services.storage.unknown_query_keyword",
        ),
        (
            json!({"date_histogram": {"field": "year", "calendar_interval": "month"}}),
            "services.storage.invalid_search_query",
        ),
        (
            json!({"date_histogram": {"field": "published", "calendar_interval": "month", "min_doc_count": -1}}),
            "services.storage.invalid_search_query",
        ),
    ] {
        let request = SearchRequest {
            body: json!({"size": 0, "aggs": {"h": body}}),
            ..SearchRequest::default()
        };
        assert_eq!(
            error_id(store.search(INDEX, BOOKS, request).await),
            id,
            "{body}"
        );
    }
}

/// Returns the epoch milliseconds of the first day of `month` in `year`, UTC.
fn month_start_millis(year: i32, month: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|date| date.and_utc().timestamp_millis())
        .unwrap()
}

pub async fn highlight_marks_terms(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let body =
        json!({"query": {"match": {"title": "rust"}}, "highlight": {"fields": {"title": {}}}});
    let request = SearchRequest {
        body,
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, request).await.unwrap();
    assert_eq!(result.hits.len(), 4);
    for hit in &result.hits {
        let fragments = &hit.highlight.as_ref().expect("highlight")["title"];
        assert!(
            fragments[0].as_str().unwrap().contains("<em>Rust</em>"),
            "{fragments}"
        );
    }
    let tagged = json!({"query": {"match": {"title": "action"}}, "highlight": {"pre_tags": ["["], "post_tags": ["]"], "fields": {"title": {}}}});
    let result = store
        .search(
            INDEX,
            BOOKS,
            SearchRequest {
                body: tagged,
                ..SearchRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        result.hits[0].highlight,
        Some(json!({"title": ["Rust in [Action]"]}))
    );
}

pub async fn result_window_limited(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let request = SearchRequest {
        from: Some(9_995),
        size: Some(10),
        ..SearchRequest::default()
    };
    assert_eq!(
        error_id(store.search(INDEX, BOOKS, request).await),
        "services.storage.get_limit_exceeded"
    );
}

pub async fn search_several_collections(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    store.create_index("press").await.unwrap();
    let mappings = json!({"properties": {"title": {"type": "text"}, "year": {"type": "integer"}}});
    let config = crate::store::CollectionConfig {
        mappings: Some(mappings),
        settings: None,
    };
    store
        .create_collection("press", "magazines", config)
        .await
        .unwrap();
    for (id, title, year) in [("m1", "Rust Monthly", 2020), ("m2", "Go Weekly", 2016)] {
        let source = json!({"title": title, "year": year});
        store
            .create("press", "magazines", Some(id), source, super::wait_for())
            .await
            .unwrap();
    }
    let targets = vec![
        (INDEX.to_owned(), BOOKS.to_owned()),
        ("press".to_owned(), "magazines".to_owned()),
    ];

    let body = json!({"query": {"match": {"title": "rust"}}, "sort": [{"year": "asc"}, "_id"]});
    let request = SearchRequest {
        body,
        ..SearchRequest::default()
    };
    let result = store
        .search_targets(targets.clone(), request)
        .await
        .unwrap();
    assert_eq!(result.total, 5);
    let found: Vec<_> = result
        .hits
        .iter()
        .map(|hit| (hit.collection.as_str(), hit.id.as_str()))
        .collect();
    let expected = [
        ("books", "b1"),
        ("magazines", "m1"),
        ("books", "b2"),
        ("books", "b6"),
        ("books", "b5"),
    ];
    assert_eq!(found, expected.to_vec());
    assert_eq!(result.hits[1].index, "press");

    let page = SearchRequest {
        body: json!({"sort": ["year", "_id"]}),
        from: Some(1),
        size: Some(2),
        ..SearchRequest::default()
    };
    let result = store.search_targets(targets.clone(), page).await.unwrap();
    let ids: Vec<_> = result.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(ids, vec!["m2", "b1"]);
    assert_eq!(result.total, 8);

    let scored = SearchRequest {
        body: json!({"query": {"match": {"title": "go"}}}),
        ..SearchRequest::default()
    };
    let result = store.search_targets(targets.clone(), scored).await.unwrap();
    assert_eq!(result.hits.len(), 3);
    assert!(
        result
            .hits
            .windows(2)
            .all(|pair| pair[0].score >= pair[1].score)
    );

    let aggs = SearchRequest {
        body: json!({"aggs": {"y": {"max": {"field": "year"}}}}),
        ..SearchRequest::default()
    };
    assert_eq!(
        error_id(store.search_targets(targets.clone(), aggs).await),
        "services.storage.unknown_query_keyword"
    );
    let missing = vec![("press".to_owned(), "nope".to_owned())];
    assert_eq!(
        error_id(
            store
                .search_targets(missing, SearchRequest::default())
                .await
        ),
        "services.storage.unknown_collection"
    );
}
