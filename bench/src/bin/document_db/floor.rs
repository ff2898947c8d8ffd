//! The physical floor of the engine's design, written directly: one redb table holding each
//! document's JSON source by id, and one tantivy index with the fields the engine indexes for
//! the mapping. It has no API, mapping check, change log or version.
//!
//! Durability matches the engine's acknowledged write: every write call is one redb commit
//! with `Durability::Immediate` (fsync) before it returns, and the tantivy writer is committed
//! once per refresh interval (the engine's default is 1 s) and at `refresh`.

use std::ops::Bound;
use std::path::Path;
use std::time::{Duration, Instant};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value, json};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, InvertedIndexRangeQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, STRING,
    Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::documents::Document;

const DOCUMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("documents");

/// The engine's refresh interval and writer memory budget, for the same commit cadence.
const REFRESH_INTERVAL: Duration = Duration::from_secs(1);
const WRITER_MEMORY_BYTES: usize = 20_000_000;

/// The engine's index type of a mapped field.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Keyword,
    Text,
    Integer,
    Float,
    Date,
    GeoPoint,
}

/// One mapped field: its index name, the source path of its value, and its type.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub source: &'static str,
    pub kind: Kind,
}

const fn spec(name: &'static str, source: &'static str, kind: Kind) -> FieldSpec {
    FieldSpec { name, source, kind }
}

/// The `_kuzzle_info` fields the server adds to every collection's mapping.
const KUZZLE_INFO: [FieldSpec; 4] = [
    spec("_kuzzle_info.author", "_kuzzle_info.author", Kind::Keyword),
    spec(
        "_kuzzle_info.createdAt",
        "_kuzzle_info.createdAt",
        Kind::Date,
    ),
    spec(
        "_kuzzle_info.updatedAt",
        "_kuzzle_info.updatedAt",
        Kind::Date,
    ),
    spec(
        "_kuzzle_info.updater",
        "_kuzzle_info.updater",
        Kind::Keyword,
    ),
];

/// Returns the indexed fields of `documents::city_mapping`.
pub fn city_fields() -> Vec<FieldSpec> {
    let mut fields = vec![
        spec("admin1", "admin1", Kind::Keyword),
        spec("admin2", "admin2", Kind::Keyword),
        spec("country", "country", Kind::Keyword),
        spec("location", "location", Kind::GeoPoint),
        spec("name", "name", Kind::Text),
        spec("name.raw", "name", Kind::Keyword),
        spec("region", "region", Kind::Text),
        spec("region.raw", "region", Kind::Keyword),
    ];
    fields.extend(KUZZLE_INFO);
    fields
}

/// Returns the indexed fields of `documents::generated_mapping`.
pub fn generated_fields() -> Vec<FieldSpec> {
    let mut fields = vec![
        spec("category", "category", Kind::Keyword),
        spec("count", "count", Kind::Integer),
        spec("createdOn", "createdOn", Kind::Date),
        spec("description", "description", Kind::Text),
        spec("position", "position", Kind::GeoPoint),
        spec("price", "price", Kind::Float),
    ];
    fields.extend(KUZZLE_INFO);
    fields
}

/// The tantivy query of the `range` clause.
#[derive(Debug, Clone, Copy)]
pub enum RangeKind {
    FastField,
    InvertedIndex,
}

/// The tantivy fields of one mapped field: one, or latitude and longitude for a geo_point.
#[derive(Debug, Clone, Copy)]
enum Target {
    One(Field),
    Geo { lat: Field, lon: Field },
}

/// The raw store of one collection.
pub struct Floor {
    db: redb::Database,
    writer: IndexWriter,
    reader: IndexReader,
    fields: Vec<(FieldSpec, Target)>,
    id_field: Field,
    present_field: Field,
    last_commit: Instant,
}

impl Floor {
    /// Creates the store in an empty `folder`.
    pub fn create(folder: &Path, specs: &[FieldSpec]) -> Self {
        std::fs::create_dir_all(folder.join("search")).expect("floor folder");
        let db = redb::Database::create(folder.join("documents.redb")).expect("redb file");
        let txn = db.begin_write().expect("redb write");
        txn.open_table(DOCUMENTS).expect("documents table");
        txn.commit().expect("redb commit");

        let (schema, fields) = build_schema(specs);
        let index = Index::create_in_dir(folder.join("search"), schema.clone()).expect("index");
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .expect("index writer");
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .expect("index reader");
        Self {
            db,
            writer,
            reader,
            fields,
            id_field: schema.get_field("_id").expect("_id field"),
            present_field: schema.get_field("_present").expect("_present field"),
            last_commit: Instant::now(),
        }
    }

    /// Writes documents in one durable redb commit, then adds them to the tantivy writer,
    /// committing it when the refresh interval has passed since the last commit.
    pub fn write(&mut self, documents: &[Document], now_ms: i64) {
        let sources: Vec<Value> = documents
            .iter()
            .map(|document| with_kuzzle_info(&document.body, now_ms))
            .collect();

        let txn = self.db.begin_write().expect("redb write");
        {
            let mut table = txn.open_table(DOCUMENTS).expect("documents table");
            for (document, source) in documents.iter().zip(&sources) {
                let bytes = serde_json::to_vec(source).expect("JSON source");
                table
                    .insert(document.id.as_str(), bytes.as_slice())
                    .expect("redb insert");
            }
        }
        txn.commit().expect("redb commit");

        for (document, source) in documents.iter().zip(&sources) {
            let indexed = self.to_tantivy(&document.id, source);
            self.writer.add_document(indexed).expect("tantivy add");
        }
        if self.last_commit.elapsed() >= REFRESH_INTERVAL {
            self.refresh();
        }
    }

    /// Commits the tantivy writer and reloads the reader, so every write is searchable.
    pub fn refresh(&mut self) {
        self.writer.commit().expect("tantivy commit");
        self.reader.reload().expect("reader reload");
        self.last_commit = Instant::now();
    }

    /// Reads one document's source by id.
    pub fn get(&self, id: &str) -> Option<Value> {
        let txn = self.db.begin_read().expect("redb read");
        let table = txn.open_table(DOCUMENTS).expect("documents table");
        let bytes = table.get(id).expect("redb get")?;
        Some(serde_json::from_slice(bytes.value()).expect("stored JSON"))
    }

    /// Runs `category == term and low <= count < low + 100`, and returns the number of matches
    /// and the sources of the 10 best, read from redb by the ids in the `_id` fast field.
    ///
    /// `range` picks tantivy's `RangeQuery`, which reads the fast field, or the
    /// `InvertedIndexRangeQuery` the engine uses.
    pub fn search(&self, category: &str, low: i64, range: RangeKind) -> (usize, Vec<Value>) {
        let query = self.bool_query(category, low, range);
        let searcher = self.reader.searcher();
        let collector = (Count, TopDocs::with_limit(10).order_by_score());
        let (total, top) = searcher.search(&query, &collector).expect("tantivy search");

        let txn = self.db.begin_read().expect("redb read");
        let table = txn.open_table(DOCUMENTS).expect("documents table");
        let mut sources = Vec::with_capacity(top.len());
        for (_score, address) in top {
            let segment = searcher.segment_reader(address.segment_ord);
            let column = segment
                .fast_fields()
                .str("_id")
                .expect("_id column")
                .expect("_id is a fast field");
            let ord = column
                .term_ords(address.doc_id)
                .next()
                .expect("every document has an id");
            let mut id = String::new();
            column.ord_to_str(ord, &mut id).expect("id of an ordinal");
            let bytes = table
                .get(id.as_str())
                .expect("redb get")
                .expect("indexed id stored");
            sources.push(serde_json::from_slice(bytes.value()).expect("stored JSON"));
        }
        (total, sources)
    }

    fn bool_query(&self, category: &str, low: i64, range: RangeKind) -> BooleanQuery {
        let field = |name: &str| {
            self.fields
                .iter()
                .find_map(|(spec, target)| match target {
                    Target::One(field) if spec.name == name => Some(*field),
                    _ => None,
                })
                .expect("field in the schema")
        };
        let (category_field, count_field) = (field("category"), field("count"));
        let term = TermQuery::new(
            Term::from_field_text(category_field, category),
            IndexRecordOption::WithFreqs,
        );
        let lower = Bound::Included(Term::from_field_i64(count_field, low));
        let upper = Bound::Excluded(Term::from_field_i64(count_field, low + 100));
        let range: Box<dyn Query> = match range {
            RangeKind::FastField => Box::new(RangeQuery::new(lower, upper)),
            RangeKind::InvertedIndex => Box::new(ConstScoreQuery::new(
                Box::new(InvertedIndexRangeQuery::new(lower, upper)),
                1.0,
            )),
        };
        let clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(term)), (Occur::Must, range)];
        BooleanQuery::new(clauses)
    }

    fn to_tantivy(&self, id: &str, source: &Value) -> TantivyDocument {
        let mut document = TantivyDocument::default();
        document.add_text(self.id_field, id);
        document.add_text(self.present_field, "_kuzzle_info");
        for (spec, target) in &self.fields {
            let Some(value) = lookup(source, spec.source).filter(|value| !value.is_null()) else {
                continue;
            };
            document.add_text(self.present_field, spec.name);
            add_value(&mut document, spec.kind, *target, value);
        }
        document
    }
}

fn add_value(document: &mut TantivyDocument, kind: Kind, target: Target, value: &Value) {
    match (kind, target) {
        (Kind::GeoPoint, Target::Geo { lat, lon }) => {
            document.add_f64(lat, value["lat"].as_f64().unwrap_or(0.0));
            document.add_f64(lon, value["lon"].as_f64().unwrap_or(0.0));
        }
        (Kind::Keyword | Kind::Text, Target::One(field)) => {
            document.add_text(field, value.as_str().unwrap_or_default());
        }
        (Kind::Integer, Target::One(field)) => {
            document.add_i64(field, value.as_i64().unwrap_or(0));
        }
        (Kind::Float, Target::One(field)) => {
            document.add_f64(field, value.as_f64().unwrap_or(0.0));
        }
        (Kind::Date, Target::One(field)) => {
            document.add_date(field, DateTime::from_timestamp_millis(date_millis(value)));
        }
        _ => {}
    }
}

/// Reads a date as epoch milliseconds (a number) or RFC 3339 text.
fn date_millis(value: &Value) -> i64 {
    match value {
        Value::Number(number) => number.as_i64().unwrap_or(0),
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|date| date.timestamp_millis())
            .unwrap_or(0),
        _ => 0,
    }
}

fn lookup<'a>(source: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(source, |value, segment| value.get(segment))
}

/// Adds the `_kuzzle_info` the server adds to a document created by an anonymous user.
fn with_kuzzle_info(body: &Value, now_ms: i64) -> Value {
    let mut source = body.clone();
    source["_kuzzle_info"] = json!({
        "author": "-1", "createdAt": now_ms, "updatedAt": null, "updater": null,
    });
    source
}

/// Builds the schema the engine builds for these fields: `_id` (stored, fast), `_present`,
/// then one field per mapped leaf, with two `f64` fields for a geo_point.
fn build_schema(specs: &[FieldSpec]) -> (Schema, Vec<(FieldSpec, Target)>) {
    let mut builder = Schema::builder();
    builder.add_text_field("_id", STRING | STORED | FAST);
    builder.add_text_field("_present", STRING);
    let mut fields = Vec::with_capacity(specs.len());
    for spec in specs {
        let target = match spec.kind {
            Kind::Keyword => {
                let indexing = TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::WithFreqs);
                let options = TextOptions::default()
                    .set_indexing_options(indexing)
                    .set_fast("raw");
                Target::One(builder.add_text_field(spec.name, options))
            }
            Kind::Text => {
                let indexing = TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions);
                let options = TextOptions::default().set_indexing_options(indexing);
                Target::One(builder.add_text_field(spec.name, options))
            }
            Kind::Integer => Target::One(builder.add_i64_field(spec.name, INDEXED | FAST)),
            Kind::Float => Target::One(builder.add_f64_field(spec.name, INDEXED | FAST)),
            Kind::Date => {
                let options = DateOptions::from(INDEXED | FAST)
                    .set_precision(DateTimePrecision::Milliseconds);
                Target::One(builder.add_date_field(spec.name, options))
            }
            Kind::GeoPoint => Target::Geo {
                lat: builder.add_f64_field(&format!("{}.lat", spec.name), INDEXED),
                lon: builder.add_f64_field(&format!("{}.lon", spec.name), INDEXED),
            },
        };
        fields.push((*spec, target));
    }
    (builder.build(), fields)
}
