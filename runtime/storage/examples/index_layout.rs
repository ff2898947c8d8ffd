//! Measures the two tantivy layouts considered for the embedded engine: one index per
//! collection, or one index per Kuzzle index with a `_collection` field.
//!
//! Run: `cargo run -p palisade-storage --example index_layout -- [collections] [documents]`.
//! It prints, for each layout, the time to index and commit every collection, the disk size,
//! the time of term queries on one collection, and the time to drop one collection.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, INDEXED, IndexRecordOption, STRING, Schema};
use tantivy::{Index, IndexWriter, TantivyDocument, Term};

const QUERIES: usize = 500;
const WRITER_MEMORY_BYTES: usize = 20_000_000;

fn main() -> tantivy::Result<()> {
    let mut args = std::env::args().skip(1);
    let collections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let documents: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let mut out = std::io::stdout();
    writeln!(
        out,
        "{collections} collections x {documents} documents, {QUERIES} queries"
    )?;
    writeln!(
        out,
        "layout                  index+commit   disk KB   query avg   drop one"
    )?;

    let folder = tempfile::tempdir()?;
    let per_collection = measure_per_collection(&folder.path().join("a"), collections, documents)?;
    report(&mut out, "index per collection", &per_collection)?;
    let shared = measure_shared(&folder.path().join("b"), collections, documents)?;
    report(&mut out, "one index, _collection", &shared)?;
    Ok(())
}

struct Measure {
    indexing: Duration,
    disk_bytes: u64,
    query: Duration,
    drop: Duration,
}

fn report(out: &mut impl Write, name: &str, measure: &Measure) -> std::io::Result<()> {
    writeln!(
        out,
        "{name:<22} {:>10.1} ms {:>9} {:>8.1} µs {:>8.1} ms",
        measure.indexing.as_secs_f64() * 1000.0,
        measure.disk_bytes / 1024,
        measure.query.as_secs_f64() * 1e6 / QUERIES as f64,
        measure.drop.as_secs_f64() * 1000.0,
    )
}

fn schema(with_collection: bool) -> Schema {
    let mut builder = Schema::builder();
    builder.add_text_field("_id", STRING | FAST);
    if with_collection {
        builder.add_text_field("_collection", STRING);
    }
    builder.add_text_field("kind", STRING | FAST);
    builder.add_i64_field("n", INDEXED | FAST);
    builder.build()
}

fn document(
    schema: &Schema,
    collection: Option<usize>,
    i: usize,
) -> tantivy::Result<TantivyDocument> {
    let mut document = TantivyDocument::default();
    document.add_text(schema.get_field("_id")?, format!("d{i}"));
    if let Some(collection) = collection {
        document.add_text(schema.get_field("_collection")?, format!("c{collection}"));
    }
    document.add_text(schema.get_field("kind")?, format!("k{}", i % 10));
    document.add_i64(schema.get_field("n")?, i as i64);
    Ok(document)
}

fn measure_per_collection(
    root: &Path,
    collections: usize,
    documents: usize,
) -> tantivy::Result<Measure> {
    let schema = schema(false);
    let started = Instant::now();
    let mut indexes = Vec::new();
    for c in 0..collections {
        let folder = root.join(c.to_string());
        std::fs::create_dir_all(&folder)?;
        let index = Index::create_in_dir(&folder, schema.clone())?;
        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        for i in 0..documents {
            writer.add_document(document(&schema, None, i)?)?;
        }
        writer.commit()?;
        indexes.push(index);
    }
    let indexing = started.elapsed();
    let disk_bytes = folder_size(root);

    let searcher = indexes[0].reader()?.searcher();
    let kind = schema.get_field("kind")?;
    let started = Instant::now();
    for q in 0..QUERIES {
        let term = Term::from_field_text(kind, &format!("k{}", q % 10));
        searcher.search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)?;
    }
    let query = started.elapsed();

    let started = Instant::now();
    drop(indexes.pop());
    std::fs::remove_dir_all(root.join((collections - 1).to_string()))?;
    Ok(Measure {
        indexing,
        disk_bytes,
        query,
        drop: started.elapsed(),
    })
}

fn measure_shared(root: &Path, collections: usize, documents: usize) -> tantivy::Result<Measure> {
    let schema = schema(true);
    std::fs::create_dir_all(root)?;
    let started = Instant::now();
    let index = Index::create_in_dir(root, schema.clone())?;
    let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
    for c in 0..collections {
        for i in 0..documents {
            writer.add_document(document(&schema, Some(c), i)?)?;
        }
        // One commit per collection, as each collection is written and refreshed on its own.
        writer.commit()?;
    }
    let indexing = started.elapsed();
    let disk_bytes = folder_size(root);

    let searcher = index.reader()?.searcher();
    let (kind, collection) = (schema.get_field("kind")?, schema.get_field("_collection")?);
    let started = Instant::now();
    for q in 0..QUERIES {
        let clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, term_query(kind, &format!("k{}", q % 10))),
            (Occur::Must, term_query(collection, "c0")),
        ];
        searcher.search(&BooleanQuery::new(clauses), &Count)?;
    }
    let query = started.elapsed();

    let started = Instant::now();
    writer.delete_term(Term::from_field_text(
        collection,
        &format!("c{}", collections - 1),
    ));
    writer.commit()?;
    Ok(Measure {
        indexing,
        disk_bytes,
        query,
        drop: started.elapsed(),
    })
}

fn term_query(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

fn folder_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => folder_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}
