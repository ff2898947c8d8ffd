//! Conformance cases for query clauses, checked against hand-computed hits on the books.

use std::sync::Arc;

use serde_json::json;

use super::{BOOKS, INDEX, ids, query_ids, seed_books};
use crate::query::koncorde;
use crate::store::{DocumentStore, SearchRequest};

async fn check(store: &dyn DocumentStore, query: serde_json::Value, expected: &[&str]) {
    assert_eq!(
        query_ids(store, query.clone()).await,
        ids(expected),
        "query {query}"
    );
}

async fn check_error(store: &dyn DocumentStore, body: serde_json::Value, id: &str, prop: &str) {
    let request = SearchRequest {
        body: body.clone(),
        ..SearchRequest::default()
    };
    let error = store.search(INDEX, BOOKS, request).await.unwrap_err();
    assert_eq!(error.kuzzle_id(), id, "body {body}");
    assert!(
        error.props().iter().any(|p| p.contains(prop)),
        "body {body}: {:?}",
        error.props()
    );
}

pub async fn term_queries(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"match_all": {}}),
        &["b1", "b2", "b3", "b4", "b5", "b6"],
    )
    .await;
    check(store, json!({"match_none": {}}), &[]).await;
    check(store, json!({"term": {"author": "blandy"}}), &["b2"]).await;
    check(
        store,
        json!({"term": {"author": {"value": "BLANDY", "case_insensitive": true}}}),
        &["b2"],
    )
    .await;
    check(store, json!({"term": {"author": "Blandy"}}), &[]).await;
    check(store, json!({"term": {"year": 2021}}), &["b2", "b3", "b6"]).await;
    check(
        store,
        json!({"term": {"year": "2021"}}),
        &["b2", "b3", "b6"],
    )
    .await;
    check(store, json!({"term": {"available": false}}), &["b2", "b5"]).await;
    check(store, json!({"term": {"price": 35}}), &["b4"]).await;
    check(store, json!({"term": {"published": "2021-08-01"}}), &["b6"]).await;
    check(
        store,
        json!({"term": {"tags": "programming"}}),
        &["b1", "b3"],
    )
    .await;
    check(
        store,
        json!({"term": {"title": "rust"}}),
        &["b1", "b2", "b5", "b6"],
    )
    .await;
    check(
        store,
        json!({"term": {"title.raw": "Learning Go"}}),
        &["b3"],
    )
    .await;
    check(store, json!({"term": {"_id": "b4"}}), &["b4"]).await;
    // Unmapped fields (dynamic false) are not searchable.
    check(store, json!({"term": {"note": "stored"}}), &[]).await;
    check_error(
        store,
        json!({"query": {"term": {"year": "abc"}}}),
        "services.storage.invalid_search_query",
        "year",
    )
    .await;
}

pub async fn terms_query(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"terms": {"tags": ["go", "systems"]}}),
        &["b3", "b4", "b6"],
    )
    .await;
    check(
        store,
        json!({"terms": {"year": [2015, 2022]}}),
        &["b4", "b5"],
    )
    .await;
    check(
        store,
        json!({"terms": {"_id": ["b1", "b6", "zz"]}}),
        &["b1", "b6"],
    )
    .await;
    check(store, json!({"terms": {"tags": []}}), &[]).await;
}

pub async fn range_queries(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"range": {"year": {"gte": 2018, "lt": 2022}}}),
        &["b1", "b2", "b3", "b6"],
    )
    .await;
    check(store, json!({"range": {"year": {"gt": 2021}}}), &["b5"]).await;
    check(
        store,
        json!({"range": {"year": {"lte": 2018}}}),
        &["b1", "b4"],
    )
    .await;
    check(
        store,
        json!({"range": {"price": {"gt": 35}}}),
        &["b1", "b2", "b6"],
    )
    .await;
    check(
        store,
        json!({"range": {"price": {"gte": 35, "lte": 39.5}}}),
        &["b1", "b4"],
    )
    .await;
    let year_2021 = json!({"range": {"published": {"gte": "2021-01-01", "lte": "2021-12-31"}}});
    check(store, year_2021, &["b2", "b3", "b6"]).await;
    check(
        store,
        json!({"range": {"published": {"lt": 1_609_459_200_000_i64}}}),
        &["b1", "b4"],
    )
    .await;
    check(store, json!({"range": {"published": {"gt": "2021-06-15T09:59:59Z", "lt": "2021-06-15T10:00:01Z"}}}), &["b2"]).await;
    check(
        store,
        json!({"range": {"author": {"gte": "d", "lt": "m"}}}),
        &["b1", "b4"],
    )
    .await;
}

pub async fn exists_query(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"exists": {"field": "price"}}),
        &["b1", "b2", "b3", "b4", "b6"],
    )
    .await;
    check(
        store,
        json!({"exists": {"field": "location"}}),
        &["b1", "b2", "b3", "b5", "b6"],
    )
    .await;
    check(
        store,
        json!({"exists": {"field": "tags"}}),
        &["b1", "b2", "b3", "b4", "b6"],
    )
    .await;
    check(
        store,
        json!({"exists": {"field": "reviews"}}),
        &["b1", "b2", "b3"],
    )
    .await;
    check(
        store,
        json!({"exists": {"field": "reviews.stars"}}),
        &["b1", "b2", "b3"],
    )
    .await;
    check(store, json!({"exists": {"field": "note"}}), &[]).await;
}

pub async fn ids_query(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    check(
        store.as_ref(),
        json!({"ids": {"values": ["b1", "b4", "nope"]}}),
        &["b1", "b4"],
    )
    .await;
}

pub async fn pattern_queries(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(store, json!({"prefix": {"author": "b"}}), &["b2", "b3"]).await;
    check(
        store,
        json!({"prefix": {"author": {"value": "BL", "case_insensitive": true}}}),
        &["b2"],
    )
    .await;
    check(
        store,
        json!({"prefix": {"title": "prog"}}),
        &["b1", "b2", "b4"],
    )
    .await;
    check(
        store,
        json!({"wildcard": {"author": "*an*"}}),
        &["b2", "b4"],
    )
    .await;
    check(
        store,
        json!({"wildcard": {"author": {"value": "b?dner"}}}),
        &["b3"],
    )
    .await;
    check(store, json!({"regexp": {"author": "b.*r"}}), &["b3"]).await;
    check(
        store,
        json!({"regexp": {"author": {"value": "(klab|don)[a-z]+"}}}),
        &["b1", "b4"],
    )
    .await;
    check(
        store,
        json!({"prefix": {"_id": "b"}}),
        &["b1", "b2", "b3", "b4", "b5", "b6"],
    )
    .await;
    check(store, json!({"wildcard": {"_id": "*3"}}), &["b3"]).await;
    check(store, json!({"match": {"_id": "b5"}}), &["b5"]).await;
}

pub async fn match_queries(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"match": {"title": "rust"}}),
        &["b1", "b2", "b5", "b6"],
    )
    .await;
    check(
        store,
        json!({"match": {"title": "RUST!"}}),
        &["b1", "b2", "b5", "b6"],
    )
    .await;
    check(
        store,
        json!({"match": {"title": {"query": "rust programming", "operator": "and"}}}),
        &["b1", "b2"],
    )
    .await;
    check(
        store,
        json!({"match": {"title": "go programming"}}),
        &["b1", "b2", "b3", "b4"],
    )
    .await;
    let two_of_three = json!({"match": {"title": {"query": "go programming language", "minimum_should_match": 2}}});
    check(store, two_of_three, &["b1", "b4"]).await;
    check(store, json!({"match": {"author": "donovan"}}), &["b4"]).await;
    check(store, json!({"match": {"year": 2022}}), &["b5"]).await;
    check(store, json!({"match": {"title": "..."}}), &[]).await;
}

pub async fn phrase_queries(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"match_phrase": {"title": "programming language"}}),
        &["b1", "b4"],
    )
    .await;
    check(
        store,
        json!({"match_phrase": {"title": "rust programming"}}),
        &["b1"],
    )
    .await;
    check(
        store,
        json!({"match_phrase": {"title": {"query": "rust language", "slop": 1}}}),
        &["b1"],
    )
    .await;
    check(
        store,
        json!({"match_phrase_prefix": {"title": "the go prog"}}),
        &["b4"],
    )
    .await;
}

pub async fn multi_match_query(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"multi_match": {"query": "donovan", "fields": ["title", "author"]}}),
        &["b4"],
    )
    .await;
    check(
        store,
        json!({"multi_match": {"query": "action", "fields": ["title", "author"]}}),
        &["b6"],
    )
    .await;
    let phrase = json!({"multi_match": {"query": "programming rust", "fields": ["title"], "type": "phrase"}});
    check(store, phrase, &["b2"]).await;
}

pub async fn query_string_query(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    check(
        store,
        json!({"query_string": {"query": "title:rust AND available:true"}}),
        &["b1", "b6"],
    )
    .await;
    check(
        store,
        json!({"query_string": {"query": "author:bodner OR author:donovan"}}),
        &["b3", "b4"],
    )
    .await;
    check(
        store,
        json!({"query_string": {"query": "rust -author:blandy", "default_field": "title"}}),
        &["b1", "b5", "b6"],
    )
    .await;
    check(
        store,
        json!({"query_string": {"query": "\"go programming\"", "default_field": "title"}}),
        &["b4"],
    )
    .await;
    check(
        store,
        json!({"query_string": {"query": "palmieri"}}),
        &["b5"],
    )
    .await;
    check(
        store,
        json!({"query_string": {"query": "author:bl*"}}),
        &["b2"],
    )
    .await;
}

pub async fn bool_queries(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    let combined = json!({"bool": {
        "must": [{"match": {"title": "rust"}}],
        "filter": [{"range": {"year": {"gte": 2021}}}],
        "must_not": [{"term": {"author": "palmieri"}}]
    }});
    check(store, combined, &["b2", "b6"]).await;
    let any =
        json!({"bool": {"should": [{"term": {"tags": "go"}}, {"term": {"tags": "systems"}}]}});
    check(store, any, &["b3", "b4", "b6"]).await;
    check(
        store,
        json!({"bool": {"must_not": [{"term": {"available": true}}]}}),
        &["b2", "b5"],
    )
    .await;
    let two = json!({"bool": {"should": [
        {"term": {"tags": "rust"}}, {"term": {"tags": "programming"}}, {"term": {"tags": "go"}}
    ], "minimum_should_match": 2}});
    check(store, two, &["b1", "b3"]).await;
    // With a filter, should clauses are optional.
    let optional =
        json!({"bool": {"filter": {"term": {"year": 2021}}, "should": [{"term": {"tags": "go"}}]}});
    check(store, optional, &["b2", "b3", "b6"]).await;
    let must_not_should = json!({"bool": {"must_not": {"term": {"author": "blandy"}}, "should": [{"term": {"tags": "rust"}}]}});
    check(store, must_not_should, &["b1", "b6"]).await;
    check(
        store,
        json!({"bool": {}}),
        &["b1", "b2", "b3", "b4", "b5", "b6"],
    )
    .await;
    let nested_bool = json!({"bool": {"should": [
        {"bool": {"filter": [{"term": {"author": "klabnik"}}]}},
        {"bool": {"must_not": [{"exists": {"field": "price"}}]}}
    ]}});
    check(store, nested_bool, &["b1", "b5"]).await;
}

pub async fn constant_score_query(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let body =
        json!({"query": {"constant_score": {"filter": {"term": {"tags": "go"}}, "boost": 2.5}}});
    let request = SearchRequest {
        body,
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, request).await.unwrap();
    assert_eq!(result.total, 2);
    assert!(
        result.hits.iter().all(|hit| (hit.score - 2.5).abs() < 1e-6),
        "{:?}",
        result.hits
    );
}

pub async fn nested_query(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    let same_review = json!({"nested": {"path": "reviews", "query": {"bool": {"filter": [
        {"term": {"reviews.user": "ann"}}, {"range": {"reviews.stars": {"gte": 5}}}
    ]}}}});
    check(store, same_review, &["b1"]).await;
    check(
        store,
        json!({"nested": {"path": "reviews", "query": {"term": {"reviews.user": "bob"}}}}),
        &["b1", "b3"],
    )
    .await;
    let combined = json!({"bool": {"filter": [
        {"nested": {"path": "reviews", "query": {"term": {"reviews.user": "cid"}}}},
        {"term": {"available": false}}
    ]}});
    check(store, combined, &["b2"]).await;
}

pub async fn geo_queries(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    let paris =
        json!({"geo_distance": {"distance": "10km", "location": {"lat": 48.8566, "lon": 2.3522}}});
    check(store, paris, &["b1", "b6"]).await;
    let wide = json!({"geo_distance": {"distance": "1000km", "location": "48.8566,2.3522"}});
    check(store, wide, &["b1", "b2", "b3", "b6"]).await;
    let north = json!({"geo_bounding_box": {"location": {"top": 53, "left": -1, "bottom": 48, "right": 14}}});
    check(store, north, &["b1", "b2", "b3", "b6"]).await;
    let corners = json!({"geo_bounding_box": {"location": {"top_left": {"lat": 43, "lon": 12}, "bottom_right": {"lat": 41, "lon": 13}}}});
    check(store, corners, &["b5"]).await;
    let not_paris = json!({"bool": {"must_not": {"geo_distance": {"distance": "10km", "location": [2.3522, 48.8566]}}}});
    check(store, not_paris, &["b2", "b3", "b4", "b5"]).await;
}

pub async fn koncorde_filters(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    let cases = [
        (json!({"equals": {"author": "bodner"}}), vec!["b3"]),
        (
            json!({"in": {"author": ["bodner", "blandy"]}}),
            vec!["b2", "b3"],
        ),
        (json!({"missing": {"field": "price"}}), vec!["b5"]),
        (
            json!({"and": [{"exists": "location"}, {"range": {"year": {"gte": 2021}}}]}),
            vec!["b2", "b3", "b5", "b6"],
        ),
        (
            json!({"or": [{"equals": {"year": 2015}}, {"ids": {"values": ["b1"]}}]}),
            vec!["b1", "b4"],
        ),
        (
            json!({"not": {"equals": {"available": true}}}),
            vec!["b2", "b5"],
        ),
        (
            json!({"geoDistance": {"location": [48.8566, 2.3522], "distance": "10km"}}),
            vec!["b1", "b6"],
        ),
        (
            json!({"geoDistanceRange": {"location": [48.8566, 2.3522], "from": "100km", "to": "1000km"}}),
            vec!["b2", "b3"],
        ),
        (
            json!({"geoBoundingBox": {"location": {"top": 53, "left": -1, "bottom": 48, "right": 14}}}),
            vec!["b1", "b2", "b3", "b6"],
        ),
        (
            json!({"geoPolygon": {"location": {"points": [[43, 12], [43, 13], [41, 13], [41, 12]]}}}),
            vec!["b5"],
        ),
        (json!({"exists": "tags[\"systems\"]"}), vec!["b6"]),
        (json!({}), vec!["b1", "b2", "b3", "b4", "b5", "b6"]),
    ];
    for (filter, expected) in cases {
        let translated = koncorde::translate(&filter).unwrap();
        assert_eq!(
            query_ids(store, translated).await,
            ids(&expected),
            "filter {filter}"
        );
    }
}

pub async fn unsupported_clauses_rejected(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let store = store.as_ref();
    let unknown = "services.storage.unknown_query_keyword";
    check_error(
        store,
        json!({"query": {"fuzzy": {"title": "rsut"}}}),
        unknown,
        "fuzzy",
    )
    .await;
    check_error(
        store,
        json!({"query": {"bool": {"must": {"more_like_this": {}}}}}),
        unknown,
        "more_like_this",
    )
    .await;
    check_error(
        store,
        json!({"query": {"match": {"title": {"query": "x", "fuzziness": 2}}}}),
        unknown,
        "fuzziness",
    )
    .await;
    check_error(
        store,
        json!({"query": {"query_string": {"query": "(a OR b) AND c"}}}),
        unknown,
        "query_string",
    )
    .await;
    check_error(
        store,
        json!({"collapse": {"field": "author"}}),
        unknown,
        "collapse",
    )
    .await;
    check_error(
        store,
        json!({"aggs": {"x": {"geohash_grid": {"field": "location"}}}}),
        unknown,
        "geohash_grid",
    )
    .await;
    let nested_wildcard = json!({"query": {"nested": {"path": "reviews", "query": {"wildcard": {"reviews.user": "a*"}}}}});
    check_error(store, nested_wildcard, unknown, "wildcard").await;
    check_error(
        store,
        json!({"query": {"term": {}}}),
        "services.storage.invalid_search_query",
        "term",
    )
    .await;
}

pub async fn scripts_rejected(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let invalid = "services.storage.invalid_query_keyword";
    let store = store.as_ref();
    check_error(
        store,
        json!({"query": {"script": {"script": {"source": "true"}}}}),
        invalid,
        "script",
    )
    .await;
    check_error(
        store,
        json!({"query": {"script_score": {"query": {"match_all": {}}}}}),
        invalid,
        "script_score",
    )
    .await;
    check_error(
        store,
        json!({"sort": [{"_script": {"type": "number"}}]}),
        invalid,
        "_script",
    )
    .await;
    let error = store
        .count(INDEX, BOOKS, json!({"bool": {"filter": {"script": {}}}}))
        .await
        .unwrap_err();
    assert_eq!(error.kuzzle_id(), invalid);
    let restricted = koncorde::translate(&json!({"regexp": {"author": "b.*"}})).unwrap_err();
    assert_eq!(
        restricted.kuzzle_id(),
        "api.assert.koncorde_restricted_keyword"
    );
}
