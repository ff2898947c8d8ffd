//! A conformance suite for any [`DocumentStore`] backend.
//!
//! Each case is a public async function taking a fresh, empty store and panicking on failure.
//! [`conformance_tests!`](crate::conformance_tests) turns them into one `#[tokio::test]` per case
//! for a backend factory:
//!
//! ```ignore
//! palisade_storage::conformance_tests!(|| async { my_backend_fixture().await });
//! ```
//!
//! The factory returns a [`Fixture`]: the store and whatever must live as long as it (a
//! temporary folder, a server handle).

mod admin;
mod documents;
mod queries;
mod ranges;
mod results;

use std::any::Any;
use std::sync::Arc;

use serde_json::{Value, json};

pub use admin::*;
pub use documents::*;
pub use queries::*;
pub use ranges::*;
pub use results::*;

use crate::error::StorageError;
use crate::store::{CollectionConfig, DocumentStore, Refresh, SearchRequest, WriteOptions};

/// A store under test and the resources it needs.
pub struct Fixture {
    pub store: Arc<dyn DocumentStore>,
    /// Dropped after the test: a temporary folder, a child process...
    pub guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Index used by the cases.
pub const INDEX: &str = "library";
/// Collection seeded by [`seed_books`].
pub const BOOKS: &str = "books";

/// Write options that make a write searchable at once.
pub fn wait_for() -> WriteOptions {
    WriteOptions {
        refresh: Refresh::WaitFor,
        retry_on_conflict: 0,
    }
}

/// Returns the catalogue id of an error, or panics with what succeeded instead.
pub fn error_id<T: std::fmt::Debug>(result: Result<T, StorageError>) -> &'static str {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.kuzzle_id(),
    }
}

/// Returns the mapping of the books collection: one field of each type.
pub fn books_mapping() -> Value {
    json!({
        "dynamic": "false",
        "properties": {
            "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "author": {"type": "keyword"},
            "year": {"type": "integer"},
            "price": {"type": "double"},
            "available": {"type": "boolean"},
            "published": {"type": "date"},
            "tags": {"type": "keyword"},
            "location": {"type": "geo_point"},
            "reviews": {"type": "nested", "properties": {
                "user": {"type": "keyword"},
                "stars": {"type": "integer"}
            }}
        }
    })
}

/// Returns the six books every query case searches.
pub fn books() -> Vec<(&'static str, Value)> {
    vec![
        (
            "b1",
            json!({"title": "The Rust Programming Language", "author": "klabnik", "year": 2018,
            "price": 39.5, "available": true, "published": "2018-08-01",
            "tags": ["rust", "programming"], "location": {"lat": 48.8566, "lon": 2.3522},
            "reviews": [{"user": "ann", "stars": 5}, {"user": "bob", "stars": 3}]}),
        ),
        (
            "b2",
            json!({"title": "Programming Rust", "author": "blandy", "year": 2021,
            "price": 49.0, "available": false, "published": "2021-06-15T10:00:00Z",
            "tags": ["rust"], "location": {"lat": 51.5074, "lon": -0.1278},
            "reviews": [{"user": "ann", "stars": 2}, {"user": "cid", "stars": 5}]}),
        ),
        (
            "b3",
            json!({"title": "Learning Go", "author": "bodner", "year": 2021,
            "price": 29.99, "available": true, "published": 1_609_459_200_000_i64,
            "tags": ["go", "programming"], "location": "52.52,13.405",
            "reviews": [{"user": "bob", "stars": 4}]}),
        ),
        (
            "b4",
            json!({"title": "The Go Programming Language", "author": "donovan", "year": 2015,
            "price": 35.0, "available": true, "published": "2015-11-01", "tags": ["go"]}),
        ),
        (
            "b5",
            json!({"title": "Zero to Production in Rust", "author": "palmieri", "year": 2022,
            "available": false, "published": "2022-05-01", "tags": [],
            "location": [12.4964, 41.9028], "note": "stored but not searchable"}),
        ),
        (
            "b6",
            json!({"title": "Rust in Action", "author": "mcnamara", "year": 2021,
            "price": 45.0, "available": true, "published": "2021-08-01",
            "tags": ["rust", "systems"], "location": {"lat": 48.86, "lon": 2.35}}),
        ),
    ]
}

/// Creates the index and the books collection, and writes the books searchable.
pub async fn seed_books(store: &dyn DocumentStore) {
    if !store.index_exists(INDEX).await.unwrap() {
        store.create_index(INDEX).await.unwrap();
    }
    let config = CollectionConfig {
        mappings: Some(books_mapping()),
        settings: None,
    };
    store.create_collection(INDEX, BOOKS, config).await.unwrap();
    for (id, source) in books() {
        store
            .create(INDEX, BOOKS, Some(id), source, wait_for())
            .await
            .unwrap();
    }
}

/// Runs a search on the books and returns the hit ids in result order.
pub async fn search_ids(store: &dyn DocumentStore, body: Value) -> Vec<String> {
    let request = SearchRequest {
        body,
        size: Some(100),
        ..SearchRequest::default()
    };
    let result = store.search(INDEX, BOOKS, request).await.unwrap();
    result.hits.into_iter().map(|hit| hit.id).collect()
}

/// Runs a query clause on the books and returns the sorted hit ids.
pub async fn query_ids(store: &dyn DocumentStore, query: Value) -> Vec<String> {
    let mut ids = search_ids(store, json!({"query": query})).await;
    ids.sort();
    ids
}

/// Builds a sorted list of ids for comparisons.
pub fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|id| (*id).to_owned()).collect()
}

/// Generates one `#[tokio::test]` per conformance case for a store factory.
///
/// The factory is an expression callable as `factory().await` that returns a
/// [`Fixture`](crate::conformance::Fixture).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            index_lifecycle, internal_indexes_hidden, invalid_names_rejected,
            collection_lifecycle, mapping_updates, strict_mapping_rejects, field_type_checked,
            dynamic_mapping_adds_fields, truncate_keeps_mapping, unindexed_fields_stored_only,
            stats_count_documents, create_and_get, create_generates_id, create_existing_fails,
            invalid_documents_rejected, create_or_replace_versions, replace_requires_document,
            update_merges_deeply, upsert_creates_or_updates, delete_returns_old_source,
            delete_fields_removes_paths, mget_and_exists, unknown_collection_errors,
            refresh_policies, near_real_time_refresh, concurrent_writes_serialize,
            bulk_applies_each_operation, delete_by_query_removes, update_by_query_changes,
            update_by_query_fails_per_document, term_queries, terms_query, range_queries,
            range_integer_limits, range_open_and_empty_bounds, range_float_date_boolean,
            range_inside_bool, range_with_sort_and_search_after,
            exists_query, ids_query, pattern_queries, match_queries, phrase_queries,
            multi_match_query, query_string_query, bool_queries, constant_score_query,
            nested_query, geo_queries, koncorde_filters, unsupported_clauses_rejected,
            scripts_rejected, sort_by_fields, sort_missing_values, sort_on_text_rejected,
            from_and_size, search_after_pages, source_filtering, scroll_pages, count_matches,
            scores_rank, aggregations_compute, calendar_histograms, highlight_marks_terms, result_window_limited,
            search_several_collections,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture: $crate::conformance::Fixture = ($factory)().await;
                $crate::conformance::$case(fixture.store.clone()).await;
                drop(fixture);
            }
        )*
    };
}
