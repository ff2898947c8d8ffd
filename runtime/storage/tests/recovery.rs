//! Crash recovery: every acknowledged write is readable and searchable after reopening,
//! whether the engine was dropped without a flush or its process was killed.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use palisade_storage::{
    CollectionConfig, DocumentStore, EmbeddedEngine, EngineConfig, SearchRequest, WriteOptions,
};
use serde_json::{Value, json};

const INDEX: &str = "crash";
const COLLECTION: &str = "docs";
/// Set in the child process's environment to the data folder it writes to.
const CHILD_ENV: &str = "PALISADE_STORAGE_CRASH_CHILD";
/// Concurrent writers in the child process.
const CHILD_WRITERS: usize = 8;

/// Opens an engine whose periodic refresh never runs during a test, so that only explicit
/// refreshes commit the search index.
fn open(path: &Path) -> EmbeddedEngine {
    let mut config = EngineConfig::new(path);
    config.refresh_interval = Duration::from_secs(3600);
    EmbeddedEngine::open(config).expect("the engine opens")
}

async fn setup(engine: &EmbeddedEngine) {
    engine.create_index(INDEX).await.unwrap();
    let mappings = json!({"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}}});
    let config = CollectionConfig {
        mappings: Some(mappings),
        settings: None,
    };
    engine
        .create_collection(INDEX, COLLECTION, config)
        .await
        .unwrap();
}

async fn count(engine: &EmbeddedEngine, query: Value) -> u64 {
    engine.count(INDEX, COLLECTION, query).await.unwrap()
}

async fn search_ids(engine: &EmbeddedEngine, query: Value) -> Vec<String> {
    let body = json!({"query": query, "sort": ["_id"]});
    let request = SearchRequest {
        body,
        size: Some(10_000),
        ..SearchRequest::default()
    };
    let result = engine.search(INDEX, COLLECTION, request).await.unwrap();
    result.hits.into_iter().map(|hit| hit.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unflushed_writes_replayed() {
    let folder = tempfile::tempdir().unwrap();
    let engine = open(folder.path());
    setup(&engine).await;
    let options = WriteOptions::default();
    for i in 0..50 {
        let id = format!("d{i:02}");
        engine
            .create(
                INDEX,
                COLLECTION,
                Some(&id),
                json!({"n": i, "tag": "new"}),
                options,
            )
            .await
            .unwrap();
    }
    // Half of them reach a search index commit, the rest only redb.
    engine.refresh_collection(INDEX, COLLECTION).await.unwrap();
    for i in 0..10 {
        let id = format!("d{i:02}");
        engine
            .update(INDEX, COLLECTION, &id, json!({"tag": "updated"}), options)
            .await
            .unwrap();
    }
    for i in 40..50 {
        engine
            .delete(INDEX, COLLECTION, &format!("d{i:02}"), options)
            .await
            .unwrap();
    }
    for i in 50..60 {
        let id = format!("d{i:02}");
        engine
            .create(
                INDEX,
                COLLECTION,
                Some(&id),
                json!({"n": i, "tag": "late"}),
                options,
            )
            .await
            .unwrap();
    }
    drop(engine);

    let engine = tokio::task::block_in_place(|| open(folder.path()));
    assert_eq!(count(&engine, json!({})).await, 50);
    assert_eq!(
        count(&engine, json!({"term": {"tag": "updated"}})).await,
        10
    );
    assert_eq!(count(&engine, json!({"term": {"tag": "new"}})).await, 30);
    assert_eq!(count(&engine, json!({"term": {"tag": "late"}})).await, 10);
    assert_eq!(
        count(&engine, json!({"range": {"n": {"gte": 40, "lt": 50}}})).await,
        0
    );
    let document = engine.get(INDEX, COLLECTION, "d05").await.unwrap();
    assert_eq!(document.source, json!({"n": 5, "tag": "updated"}));
    assert_eq!(document.version, 2);
    assert!(!engine.exists(INDEX, COLLECTION, "d45").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_search_index_rebuilt() {
    let folder = tempfile::tempdir().unwrap();
    let engine = open(folder.path());
    setup(&engine).await;
    for i in 0..20 {
        let source = json!({"n": i, "tag": "x"});
        engine
            .create(
                INDEX,
                COLLECTION,
                Some(&format!("d{i}")),
                source,
                WriteOptions::default(),
            )
            .await
            .unwrap();
    }
    engine.flush().unwrap();
    drop(engine);
    std::fs::remove_dir_all(folder.path().join("search")).unwrap();

    let engine = tokio::task::block_in_place(|| open(folder.path()));
    assert_eq!(count(&engine, json!({"term": {"tag": "x"}})).await, 20);
    assert_eq!(count(&engine, json!({"range": {"n": {"lt": 5}}})).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writer_loses_nothing() {
    let folder = tempfile::tempdir().unwrap();
    {
        let engine = open(folder.path());
        setup(&engine).await;
        engine.flush().unwrap();
    }

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_writes",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, folder.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child test process starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acknowledged = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("ack ") {
            acknowledged.push(id.to_owned());
            if acknowledged.len() == 150 {
                break;
            }
        }
    }
    // SIGKILL: no destructor, no flush, possibly in the middle of a write.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        acknowledged.len(),
        150,
        "the child stopped before 150 writes"
    );

    let engine = tokio::task::block_in_place(|| open(folder.path()));
    let found = search_ids(&engine, json!({"term": {"tag": "child"}})).await;
    for id in &acknowledged {
        assert!(
            engine.exists(INDEX, COLLECTION, id).await.unwrap(),
            "{id} not readable"
        );
        assert!(found.contains(id), "{id} not searchable");
    }
    // Writes committed but not yet acknowledged may exist too, and must be searchable as well.
    assert_eq!(found.len() as u64, count(&engine, json!({})).await);
}

/// The child side of `killed_writer_loses_nothing`: writes until killed, printing each id once
/// its write returned. Does nothing in a normal test run.
#[test]
fn crash_child_writes() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = open(Path::new(&path));
        // Concurrent writers share durable commits, so a kill can land between a write's
        // commit and the fsync that acknowledges it.
        let writers = (0..CHILD_WRITERS).map(|writer| {
            let engine = engine.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("c{writer}-{i:05}");
                    let source = json!({"n": i, "tag": "child"});
                    engine
                        .create(
                            INDEX,
                            COLLECTION,
                            Some(&id),
                            source,
                            WriteOptions::default(),
                        )
                        .await
                        .unwrap();
                    let mut stdout = std::io::stdout().lock();
                    writeln!(stdout, "ack {id}").unwrap();
                    stdout.flush().unwrap();
                }
            })
        });
        for writer in writers.collect::<Vec<_>>() {
            writer.await.unwrap();
        }
    });
}
