//! Conformance cases for document writes and reads.

use std::sync::Arc;

use serde_json::json;

use super::{BOOKS, INDEX, error_id, ids, query_ids, seed_books, wait_for};
use crate::store::{BulkOperation, CollectionConfig, DocumentStore, WriteOptions};

async fn open_collection(store: &dyn DocumentStore) {
    store.create_index(INDEX).await.unwrap();
    let mappings = json!({"dynamic": "true"});
    let config = CollectionConfig {
        mappings: Some(mappings),
        settings: None,
    };
    store.create_collection(INDEX, "c", config).await.unwrap();
}

pub async fn create_and_get(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    let written = store
        .create(INDEX, "c", Some("d1"), json!({"a": 1}), wait_for())
        .await
        .unwrap();
    assert_eq!(written.id, "d1");
    assert_eq!(written.version, 1);
    assert!(written.created);
    assert_eq!(written.old_source, None);
    assert_eq!(written.source, Some(json!({"a": 1})));
    let document = store.get(INDEX, "c", "d1").await.unwrap();
    assert_eq!(document.source, json!({"a": 1}));
    assert_eq!(document.version, 1);
}

pub async fn create_generates_id(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    let first = store
        .create(INDEX, "c", None, json!({"a": 1}), wait_for())
        .await
        .unwrap();
    let second = store
        .create(INDEX, "c", None, json!({"a": 2}), wait_for())
        .await
        .unwrap();
    assert!(!first.id.is_empty());
    assert_ne!(first.id, second.id);
    assert_eq!(
        store.get(INDEX, "c", &second.id).await.unwrap().source,
        json!({"a": 2})
    );
}

pub async fn create_existing_fails(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    store
        .create(INDEX, "c", Some("d1"), json!({"a": 1}), wait_for())
        .await
        .unwrap();
    let again = store
        .create(INDEX, "c", Some("d1"), json!({"a": 2}), wait_for())
        .await;
    assert_eq!(error_id(again), "services.storage.document_already_exists");
    assert_eq!(
        store.get(INDEX, "c", "d1").await.unwrap().source,
        json!({"a": 1})
    );
}

pub async fn create_or_replace_versions(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    let first = store
        .create_or_replace(INDEX, "c", "d1", json!({"a": 1}), wait_for())
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.version, 1);
    let second = store
        .create_or_replace(INDEX, "c", "d1", json!({"b": 2}), wait_for())
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(second.version, 2);
    assert_eq!(second.old_source, Some(json!({"a": 1})));
    assert_eq!(
        store.get(INDEX, "c", "d1").await.unwrap().source,
        json!({"b": 2})
    );
}

pub async fn replace_requires_document(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    let missing = store
        .replace(INDEX, "c", "d1", json!({"a": 1}), wait_for())
        .await;
    let error = missing.unwrap_err();
    assert_eq!(error.kuzzle_id(), "services.storage.not_found");
    assert_eq!(
        error.props(),
        vec!["d1".to_owned(), INDEX.to_owned(), "c".to_owned()]
    );
    store
        .create(INDEX, "c", Some("d1"), json!({"a": 1, "b": 1}), wait_for())
        .await
        .unwrap();
    let replaced = store
        .replace(INDEX, "c", "d1", json!({"a": 2}), wait_for())
        .await
        .unwrap();
    assert_eq!(replaced.version, 2);
    assert_eq!(replaced.old_source, Some(json!({"a": 1, "b": 1})));
    assert_eq!(
        store.get(INDEX, "c", "d1").await.unwrap().source,
        json!({"a": 2})
    );
}

pub async fn update_merges_deeply(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    let missing = store
        .update(INDEX, "c", "d1", json!({"a": 1}), wait_for())
        .await;
    assert_eq!(error_id(missing), "services.storage.not_found");
    let source = json!({"o": {"x": 1, "y": 2}, "list": [1, 2], "keep": true});
    store
        .create(INDEX, "c", Some("d1"), source.clone(), wait_for())
        .await
        .unwrap();
    let options = WriteOptions {
        retry_on_conflict: 3,
        ..wait_for()
    };
    let changes = json!({"o": {"x": 10, "z": 3}, "list": [9]});
    let updated = store
        .update(INDEX, "c", "d1", changes, options)
        .await
        .unwrap();
    let expected = json!({"o": {"x": 10, "y": 2, "z": 3}, "list": [9], "keep": true});
    assert_eq!(updated.source, Some(expected.clone()));
    assert_eq!(updated.old_source, Some(source));
    assert_eq!(updated.version, 2);
    assert!(!updated.created);
    assert_eq!(store.get(INDEX, "c", "d1").await.unwrap().source, expected);
    assert_eq!(
        store
            .count(INDEX, "c", json!({"term": {"o.z": 3}}))
            .await
            .unwrap(),
        1
    );
}

pub async fn delete_returns_old_source(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    store
        .create(INDEX, "c", Some("d1"), json!({"a": 1}), wait_for())
        .await
        .unwrap();
    let deleted = store.delete(INDEX, "c", "d1", wait_for()).await.unwrap();
    assert_eq!(deleted.old_source, Some(json!({"a": 1})));
    assert_eq!(deleted.source, None);
    assert_eq!(deleted.version, 1);
    assert_eq!(
        error_id(store.get(INDEX, "c", "d1").await),
        "services.storage.not_found"
    );
    assert_eq!(
        error_id(store.delete(INDEX, "c", "d1", wait_for()).await),
        "services.storage.not_found"
    );
    assert_eq!(store.count(INDEX, "c", json!({})).await.unwrap(), 0);
}

pub async fn delete_fields_removes_paths(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    store
        .create(
            INDEX,
            "c",
            Some("d1"),
            json!({"a": 1, "o": {"x": 1, "y": 2}}),
            wait_for(),
        )
        .await
        .unwrap();
    let fields = vec!["a".to_owned(), "o.x".to_owned(), "missing.path".to_owned()];
    let written = store
        .delete_fields(INDEX, "c", "d1", fields, wait_for())
        .await
        .unwrap();
    assert_eq!(written.source, Some(json!({"o": {"y": 2}})));
    assert_eq!(written.version, 2);
    assert_eq!(
        store
            .count(INDEX, "c", json!({"exists": {"field": "a"}}))
            .await
            .unwrap(),
        0
    );
    let missing = store
        .delete_fields(INDEX, "c", "nope", vec!["a".to_owned()], wait_for())
        .await;
    assert_eq!(error_id(missing), "services.storage.not_found");
}

pub async fn mget_and_exists(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let result = store
        .mget(INDEX, BOOKS, ids(&["b2", "zz", "b1"]))
        .await
        .unwrap();
    let found: Vec<_> = result
        .found
        .iter()
        .map(|document| document.id.as_str())
        .collect();
    assert_eq!(found, vec!["b2", "b1"]);
    assert_eq!(result.missing, ids(&["zz"]));
    assert!(store.exists(INDEX, BOOKS, "b3").await.unwrap());
    assert!(!store.exists(INDEX, BOOKS, "zz").await.unwrap());
}

pub async fn unknown_collection_errors(store: Arc<dyn DocumentStore>) {
    assert_eq!(
        error_id(store.get("nope", "c", "d").await),
        "services.storage.unknown_index"
    );
    store.create_index(INDEX).await.unwrap();
    let cases = [
        error_id(store.get(INDEX, "c", "d").await),
        error_id(store.create(INDEX, "c", None, json!({}), wait_for()).await),
        error_id(store.search(INDEX, "c", Default::default()).await),
        error_id(store.count(INDEX, "c", json!({})).await),
        error_id(store.truncate_collection(INDEX, "c").await),
    ];
    for id in cases {
        assert_eq!(id, "services.storage.unknown_collection");
    }
}

pub async fn refresh_policies(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    store
        .create(INDEX, "c", Some("seed"), json!({"n": 0}), wait_for())
        .await
        .unwrap();
    // Real-time get reads a write at once, whatever the refresh policy.
    store
        .create(
            INDEX,
            "c",
            Some("d1"),
            json!({"n": 1}),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    assert!(store.exists(INDEX, "c", "d1").await.unwrap());
    store.refresh_collection(INDEX, "c").await.unwrap();
    assert_eq!(
        store
            .count(INDEX, "c", json!({"term": {"n": 1}}))
            .await
            .unwrap(),
        1
    );
    store
        .create(INDEX, "c", Some("d2"), json!({"n": 2}), wait_for())
        .await
        .unwrap();
    assert_eq!(
        store
            .count(INDEX, "c", json!({"term": {"n": 2}}))
            .await
            .unwrap(),
        1
    );
}

pub async fn bulk_applies_each_operation(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    store
        .create(INDEX, "c", Some("old"), json!({"n": 0}), wait_for())
        .await
        .unwrap();
    let operations = vec![
        BulkOperation::Create {
            id: Some("a".into()),
            source: json!({"n": 1}),
        },
        BulkOperation::Create {
            id: Some("old".into()),
            source: json!({"n": 9}),
        },
        BulkOperation::CreateOrReplace {
            id: "b".into(),
            source: json!({"n": 2}),
        },
        BulkOperation::Update {
            id: "old".into(),
            changes: json!({"m": 1}),
        },
        BulkOperation::Replace {
            id: "missing".into(),
            source: json!({}),
        },
        BulkOperation::Create {
            id: None,
            source: json!({"n": 3}),
        },
        BulkOperation::Delete { id: "a".into() },
    ];
    let results = store
        .bulk(INDEX, "c", operations, wait_for())
        .await
        .unwrap();
    assert_eq!(results.len(), 7);
    let failed: Vec<_> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![1, 4]);
    assert_eq!(
        results[1].as_ref().unwrap_err().kuzzle_id(),
        "services.storage.document_already_exists"
    );
    assert_eq!(
        results[4].as_ref().unwrap_err().kuzzle_id(),
        "services.storage.not_found"
    );
    assert_eq!(
        store.get(INDEX, "c", "old").await.unwrap().source,
        json!({"n": 0, "m": 1})
    );
    assert!(!store.exists(INDEX, "c", "a").await.unwrap());
    assert_eq!(store.count(INDEX, "c", json!({})).await.unwrap(), 3);
}

pub async fn delete_by_query_removes(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let deleted = store
        .delete_by_query(INDEX, BOOKS, json!({"term": {"tags": "go"}}), wait_for())
        .await
        .unwrap();
    let mut deleted_ids: Vec<_> = deleted.iter().map(|d| d.id.clone()).collect();
    deleted_ids.sort();
    assert_eq!(deleted_ids, ids(&["b3", "b4"]));
    assert!(
        deleted
            .iter()
            .all(|d| d.old_source.is_some() && d.source.is_none())
    );
    assert_eq!(
        query_ids(store.as_ref(), json!({"match_all": {}})).await,
        ids(&["b1", "b2", "b5", "b6"])
    );
    let bad = store
        .delete_by_query(INDEX, BOOKS, json!({"bogus": {}}), wait_for())
        .await;
    assert_eq!(error_id(bad), "services.storage.unknown_query_keyword");
}

pub async fn update_by_query_changes(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let query = json!({"range": {"year": {"gte": 2021}}});
    let updated = store
        .update_by_query(INDEX, BOOKS, query, json!({"available": false}), wait_for())
        .await
        .unwrap();
    let updated: Vec<_> = updated.into_iter().map(Result::unwrap).collect();
    let mut updated_ids: Vec<_> = updated.iter().map(|d| d.id.clone()).collect();
    updated_ids.sort();
    assert_eq!(updated_ids, ids(&["b2", "b3", "b5", "b6"]));
    assert!(
        updated
            .iter()
            .all(|d| d.source.as_ref().unwrap()["available"] == false)
    );
    assert_eq!(
        query_ids(store.as_ref(), json!({"term": {"available": true}})).await,
        ids(&["b1", "b4"])
    );
    let b6 = store.get(INDEX, BOOKS, "b6").await.unwrap();
    assert_eq!(b6.version, 2);
    assert_eq!(b6.source["title"], "Rust in Action");
}

pub async fn update_by_query_fails_per_document(store: Arc<dyn DocumentStore>) {
    seed_books(store.as_ref()).await;
    let query = json!({"terms": {"_id": ["b1", "b2"]}});
    let changes = json!({"year": "not a year"});
    let results = store
        .update_by_query(INDEX, BOOKS, query, changes, wait_for())
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(error_id(result), "services.storage.invalid_mapping");
    }
    assert_eq!(store.get(INDEX, BOOKS, "b1").await.unwrap().version, 1);
}

pub async fn upsert_creates_or_updates(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    let changes = json!({"o": {"x": 1}});
    let default = json!({"o": {"y": 2}, "d": true});
    let created = store
        .upsert(INDEX, "c", "d1", changes, default.clone(), wait_for())
        .await
        .unwrap();
    assert!(created.created);
    assert_eq!(created.version, 1);
    assert_eq!(
        created.source,
        Some(json!({"o": {"y": 2, "x": 1}, "d": true}))
    );

    let changes = json!({"o": {"x": 5}});
    let updated = store
        .upsert(INDEX, "c", "d1", changes, default, wait_for())
        .await
        .unwrap();
    assert!(!updated.created);
    assert_eq!(updated.version, 2);
    assert_eq!(
        updated.source,
        Some(json!({"o": {"y": 2, "x": 5}, "d": true}))
    );
    assert_eq!(
        store
            .count(INDEX, "c", json!({"term": {"o.x": 5}}))
            .await
            .unwrap(),
        1
    );
}

pub async fn near_real_time_refresh(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    store
        .create(INDEX, "c", Some("seed"), json!({"n": 0}), wait_for())
        .await
        .unwrap();
    let options = WriteOptions::default();
    store
        .create(INDEX, "c", Some("late"), json!({"n": 1}), options)
        .await
        .unwrap();

    // Elasticsearch refreshes every second; allow a few intervals on a loaded machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if store
            .count(INDEX, "c", json!({"term": {"n": 1}}))
            .await
            .unwrap()
            == 1
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the write never became searchable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub async fn concurrent_writes_serialize(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    store
        .create(INDEX, "c", Some("shared"), json!({}), wait_for())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let options = WriteOptions::default();
            let id = format!("own{i}");
            store
                .create(INDEX, "c", Some(&id), json!({"n": i}), options)
                .await
                .unwrap();
            let changes = json!({format!("f{i}"): i});
            store
                .update(INDEX, "c", "shared", changes, options)
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    // Every update applied on top of the previous one: no lost field, one version each.
    let shared = store.get(INDEX, "c", "shared").await.unwrap();
    assert_eq!(shared.version, 21);
    assert_eq!(shared.source.as_object().unwrap().len(), 20);
    store.refresh_collection(INDEX, "c").await.unwrap();
    assert_eq!(
        store
            .count(INDEX, "c", json!({"range": {"n": {"gte": 0}}}))
            .await
            .unwrap(),
        20
    );
}

pub async fn invalid_documents_rejected(store: Arc<dyn DocumentStore>) {
    open_collection(store.as_ref()).await;
    let invalid = "services.storage.invalid_argument";
    let long_id = "x".repeat(513);
    for id in ["", long_id.as_str()] {
        let result = store
            .create(INDEX, "c", Some(id), json!({}), wait_for())
            .await;
        assert_eq!(error_id(result), invalid, "id of {} bytes", id.len());
    }
    assert_eq!(
        error_id(store.create(INDEX, "c", None, json!([1]), wait_for()).await),
        invalid
    );
    assert_eq!(
        error_id(
            store
                .create(INDEX, "c", None, json!("text"), wait_for())
                .await
        ),
        invalid
    );
    store
        .create(INDEX, "c", Some("d1"), json!({"a": 1}), wait_for())
        .await
        .unwrap();
    assert_eq!(
        error_id(store.update(INDEX, "c", "d1", json!(3), wait_for()).await),
        invalid
    );
    let default = json!({});
    let upsert = store
        .upsert(INDEX, "c", "d2", json!(null), default, wait_for())
        .await;
    assert_eq!(error_id(upsert), invalid);
    assert_eq!(store.get(INDEX, "c", "d1").await.unwrap().version, 1);
}
