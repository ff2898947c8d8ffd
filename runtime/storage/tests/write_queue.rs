//! Concurrent calls, which the writer queue may apply in one transaction, get their own results.

use std::collections::HashSet;

use palisade_storage::{
    BulkOperation, CollectionConfig, DocumentStore, EmbeddedEngine, EngineConfig, StorageError,
    WriteOptions,
};
use serde_json::json;

const INDEX: &str = "queue";
const COLLECTION: &str = "docs";
/// Concurrent single-document creates. Every third one reuses an id created before.
const CREATES: usize = 300;

async fn open_with_collection(path: &std::path::Path) -> EmbeddedEngine {
    let engine = EmbeddedEngine::open(EngineConfig::new(path)).unwrap();
    engine.create_index(INDEX).await.unwrap();
    let config = CollectionConfig {
        mappings: Some(json!({"properties": {"n": {"type": "long"}}})),
        settings: None,
    };
    engine
        .create_collection(INDEX, COLLECTION, config)
        .await
        .unwrap();
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_creates_fail_alone() {
    let folder = tempfile::tempdir().unwrap();
    let engine = open_with_collection(folder.path()).await;
    let options = WriteOptions::default();
    for i in 0..CREATES / 3 {
        let id = format!("taken{i}");
        engine
            .create(INDEX, COLLECTION, Some(&id), json!({"n": i}), options)
            .await
            .unwrap();
    }

    let mut tasks = Vec::new();
    for i in 0..CREATES {
        let engine = engine.clone();
        let id = if i % 3 == 0 {
            format!("taken{}", i / 3)
        } else {
            format!("new{i}")
        };
        tasks.push(tokio::spawn(async move {
            let result = engine
                .create(INDEX, COLLECTION, Some(&id), json!({"n": i}), options)
                .await;
            (id, result)
        }));
    }

    let mut created = HashSet::new();
    for task in tasks {
        let (id, result) = task.await.unwrap();
        if id.starts_with("taken") {
            assert!(
                matches!(result, Err(StorageError::DocumentAlreadyExists { .. })),
                "create of existing {id} returned {result:?}"
            );
        } else {
            assert_eq!(result.unwrap().id, id);
            created.insert(id);
        }
    }
    assert_eq!(created.len(), CREATES - CREATES / 3);
    for id in &created {
        assert!(engine.exists(INDEX, COLLECTION, id).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bulks_keep_their_results() {
    let folder = tempfile::tempdir().unwrap();
    let engine = open_with_collection(folder.path()).await;
    let options = WriteOptions::default();

    let mut tasks = Vec::new();
    for call in 0..8 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            // Each call creates its own ids and deletes one id that does not exist.
            let mut operations: Vec<BulkOperation> = (0..20)
                .map(|n| BulkOperation::Create {
                    id: Some(format!("c{call}-{n}")),
                    source: json!({"n": n}),
                })
                .collect();
            operations.push(BulkOperation::Delete {
                id: format!("missing{call}"),
            });
            let results = engine
                .bulk(INDEX, COLLECTION, operations, options)
                .await
                .unwrap();
            (call, results)
        }));
    }

    for task in tasks {
        let (call, results) = task.await.unwrap();
        assert_eq!(results.len(), 21);
        for (n, result) in results[..20].iter().enumerate() {
            let written = result.as_ref().unwrap();
            assert_eq!(written.id, format!("c{call}-{n}"));
        }
        assert!(matches!(results[20], Err(StorageError::NotFound { .. })));
    }
    engine.refresh_collection(INDEX, COLLECTION).await.unwrap();
    let count = engine.count(INDEX, COLLECTION, json!({})).await.unwrap();
    assert_eq!(count, 8 * 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_new_fields_keep_one_type() {
    let folder = tempfile::tempdir().unwrap();
    let engine = EmbeddedEngine::open(EngineConfig::new(folder.path())).unwrap();
    engine.create_index(INDEX).await.unwrap();
    let config = CollectionConfig {
        mappings: Some(json!({"dynamic": "true", "properties": {"n": {"type": "long"}}})),
        settings: None,
    };
    engine
        .create_collection(INDEX, "dynamic", config)
        .await
        .unwrap();
    let options = WriteOptions::default();

    // Calls prepare their sources against the mapping they see, while other calls of the same
    // batch add the field `added`: a number in even calls, an object in odd ones. The first
    // call applied sets its type, and the calls of the other type fail.
    let mut tasks = Vec::new();
    for call in 0..8 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let added = if call % 2 == 0 {
                json!(call)
            } else {
                json!({"call": call})
            };
            let operations: Vec<BulkOperation> = (0..20)
                .map(|n| BulkOperation::Create {
                    id: Some(format!("c{call}-{n}")),
                    source: json!({"n": n, "added": added}),
                })
                .collect();
            let results = engine
                .bulk(INDEX, "dynamic", operations, options)
                .await
                .unwrap();
            (added, results)
        }));
    }

    let mut numbers = 0;
    let mut objects = 0;
    for task in tasks {
        let (added, results) = task.await.unwrap();
        let written = results.iter().filter(|result| result.is_ok()).count();
        // A call's documents share one type, so all of them fit the mapping or none does.
        assert!(written == 0 || written == 20, "{written} of 20 written");
        if added.is_number() {
            numbers += written;
        } else {
            objects += written;
        }
    }
    assert!(
        numbers == 0 || objects == 0,
        "{numbers} numbers and {objects} objects written to one field"
    );
    assert_eq!(numbers + objects, 80);

    engine.refresh_collection(INDEX, "dynamic").await.unwrap();
    let count = engine.count(INDEX, "dynamic", json!({})).await.unwrap();
    assert_eq!(count, 80);
    let query = json!({"exists": {"field": "added"}});
    let with_field = engine.count(INDEX, "dynamic", query).await.unwrap();
    assert_eq!(with_field, 80);
}
