//! The tantivy search index of one collection: schema from the mapping, writes, commits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde_json::Value;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, STRING,
    Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::db::OrInternal;
use super::geo_filter::{LAT_SUFFIX, LON_SUFFIX};
use crate::error::Result;
use crate::mapping::{FieldType, IndexValue, Mapping};
use crate::query::geo::GeoPoint;

/// Name of the field holding the document id.
pub(crate) const ID_FIELD: &str = "_id";
/// Name of the field listing the mapped paths a document has values for.
pub(crate) const PRESENT_FIELD: &str = "_present";

/// Memory budget of one collection's index writer, in bytes (tantivy's minimum is 15 MB).
const WRITER_MEMORY_BYTES: usize = 20_000_000;

/// A searchable field of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SchemaField {
    pub field: Field,
}

/// The search index of one collection, in one generation folder.
pub(crate) struct SearchIndex {
    pub index: Index,
    pub reader: IndexReader,
    writer: Mutex<IndexWriter>,
    pub fields: HashMap<String, SchemaField>,
    pub id_field: Field,
    pub present_field: Field,
    pub folder: PathBuf,
    /// Highest sequence number added to the writer.
    added_seq: AtomicU64,
    /// Highest sequence number visible to search: committed and reloaded.
    searchable_seq: AtomicU64,
    /// Whether writes were added since the last commit.
    dirty: AtomicBool,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// Builds the tantivy schema of a mapping: one field per searchable leaf path.
pub(crate) fn build_schema(mapping: &Mapping) -> Schema {
    let mut builder = Schema::builder();
    builder.add_text_field(ID_FIELD, STRING | STORED | FAST);
    builder.add_text_field(PRESENT_FIELD, STRING);
    for leaf in mapping.leaves() {
        let name = leaf.path.as_str();
        match leaf.field_type {
            FieldType::Keyword => {
                let indexing = TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::WithFreqs);
                let options = TextOptions::default()
                    .set_indexing_options(indexing)
                    .set_fast("raw");
                builder.add_text_field(name, options);
            }
            FieldType::Text => {
                let indexing = TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions);
                builder.add_text_field(name, TextOptions::default().set_indexing_options(indexing));
            }
            FieldType::Integer | FieldType::Long => {
                builder.add_i64_field(name, INDEXED | FAST);
            }
            FieldType::Float | FieldType::Double => {
                builder.add_f64_field(name, INDEXED | FAST);
            }
            FieldType::Boolean => {
                builder.add_bool_field(name, INDEXED | FAST);
            }
            FieldType::Date => {
                let options = DateOptions::from(INDEXED | FAST)
                    .set_precision(DateTimePrecision::Milliseconds);
                builder.add_date_field(name, options);
            }
            // Latitude and longitude only prefilter geo clauses, evaluated on the stored source.
            FieldType::GeoPoint => {
                builder.add_f64_field(&format!("{name}{LAT_SUFFIX}"), INDEXED);
                builder.add_f64_field(&format!("{name}{LON_SUFFIX}"), INDEXED);
            }
            FieldType::Object | FieldType::Nested => {}
        }
    }
    builder.build()
}

impl SearchIndex {
    /// Opens the index in `folder`, creating it with the mapping's schema when absent.
    ///
    /// Returns the index and the sequence number stored in its last commit, or `None` when the
    /// folder was created or its schema no longer matches the mapping (the caller rebuilds).
    pub fn open(folder: &Path, mapping: &Mapping) -> Result<(Self, Option<u64>)> {
        let schema = build_schema(mapping);
        let existing = folder.join("meta.json").exists();
        std::fs::create_dir_all(folder).or_internal()?;
        let directory = tantivy::directory::MmapDirectory::open(folder).or_internal()?;
        let index = Index::open_or_create(directory, schema.clone()).or_internal()?;
        let committed = if existing && index.schema() == schema {
            let metas = index.load_metas().or_internal()?;
            Some(
                metas
                    .payload
                    .and_then(|payload| payload.parse().ok())
                    .unwrap_or(0),
            )
        } else {
            None
        };
        Ok((Self::from_index(index, folder)?, committed))
    }

    fn from_index(index: Index, folder: &Path) -> Result<Self> {
        let schema = index.schema();
        let mut fields = HashMap::new();
        for (field, entry) in schema.fields() {
            let name = entry.name();
            if name == ID_FIELD || name == PRESENT_FIELD {
                continue;
            }
            fields.insert(name.to_owned(), SchemaField { field });
        }
        let id_field = schema.get_field(ID_FIELD).or_internal()?;
        let present_field = schema.get_field(PRESENT_FIELD).or_internal()?;
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .or_internal()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .or_internal()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            id_field,
            present_field,
            folder: folder.to_owned(),
            added_seq: AtomicU64::new(0),
            searchable_seq: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
        })
    }

    /// Replaces (or deletes, when `source` is `None`) a document in the writer.
    pub fn stage(
        &self,
        mapping: &Mapping,
        id: &str,
        source: Option<&Value>,
        seq: u64,
    ) -> Result<()> {
        let writer = self.writer.lock();
        writer.delete_term(Term::from_field_text(self.id_field, id));
        if let Some(source) = source {
            writer
                .add_document(self.to_tantivy(mapping, id, source))
                .or_internal()?;
        }
        self.added_seq.fetch_max(seq, Ordering::SeqCst);
        self.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Adds a document the index cannot contain yet, because the write created it, without
    /// the delete of its id that [`Self::stage`] queues. tantivy applies every queued delete
    /// to every segment at the next commit, so skipping it keeps bulk creates from slowing
    /// down as the index grows.
    pub fn stage_created(
        &self,
        mapping: &Mapping,
        id: &str,
        source: &Value,
        seq: u64,
    ) -> Result<()> {
        let writer = self.writer.lock();
        writer
            .add_document(self.to_tantivy(mapping, id, source))
            .or_internal()?;
        self.added_seq.fetch_max(seq, Ordering::SeqCst);
        self.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Adds a document built by [`Self::to_tantivy`] that the index cannot contain yet, as
    /// [`Self::stage_created`] does.
    pub fn stage_created_document(&self, document: TantivyDocument, seq: u64) -> Result<()> {
        let writer = self.writer.lock();
        writer.add_document(document).or_internal()?;
        self.added_seq.fetch_max(seq, Ordering::SeqCst);
        self.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Replaces a document with one built by [`Self::to_tantivy`], as [`Self::stage`] does.
    pub fn stage_document(&self, id: &str, document: TantivyDocument, seq: u64) -> Result<()> {
        let writer = self.writer.lock();
        writer.delete_term(Term::from_field_text(self.id_field, id));
        writer.add_document(document).or_internal()?;
        self.added_seq.fetch_max(seq, Ordering::SeqCst);
        self.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Builds the search document of a source.
    pub fn to_tantivy(&self, mapping: &Mapping, id: &str, source: &Value) -> TantivyDocument {
        let indexed = mapping.index_document(source);
        let mut document = TantivyDocument::default();
        document.add_text(self.id_field, id);
        for path in &indexed.present {
            document.add_text(self.present_field, path);
        }
        for (path, value) in indexed.values {
            if let IndexValue::Geo(point) = value {
                self.add_geo_point(&mut document, &path, point);
                continue;
            }
            let Some(schema_field) = self.fields.get(&path) else {
                continue;
            };
            let field = schema_field.field;
            match value {
                IndexValue::Str(text) => document.add_text(field, text),
                IndexValue::I64(number) => document.add_i64(field, number),
                IndexValue::F64(number) => document.add_f64(field, number),
                IndexValue::Bool(flag) => document.add_bool(field, flag),
                IndexValue::Date(millis) => {
                    document.add_date(field, DateTime::from_timestamp_millis(millis));
                }
                IndexValue::Geo(_) => {}
            }
        }
        document
    }

    fn add_geo_point(&self, document: &mut TantivyDocument, path: &str, point: GeoPoint) {
        let lat = self.fields.get(&format!("{path}{LAT_SUFFIX}"));
        let lon = self.fields.get(&format!("{path}{LON_SUFFIX}"));
        if let (Some(lat), Some(lon)) = (lat, lon) {
            document.add_f64(lat.field, point.lat);
            document.add_f64(lon.field, point.lon);
        }
    }

    /// Returns whether writes were staged since the last commit.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::SeqCst)
    }

    /// Commits staged writes with the highest staged sequence number as payload, then reloads
    /// the reader so they are searchable. Returns that sequence number.
    ///
    /// Writes are staged only after their redb commit is durable, so the search index never
    /// contains a write that a crash could undo.
    pub fn commit(&self) -> Result<u64> {
        let mut writer = self.writer.lock();
        self.commit_locked(&mut writer)
    }

    /// Commits staged writes unless a commit made write `seq` searchable meanwhile, so that
    /// concurrent `wait_for` writes share one commit. Returns the sequence number committed.
    pub fn commit_through(&self, seq: u64) -> Result<Option<u64>> {
        let mut writer = self.writer.lock();
        if self.searchable_seq.load(Ordering::SeqCst) >= seq {
            return Ok(None);
        }
        self.commit_locked(&mut writer).map(Some)
    }

    fn commit_locked(&self, writer: &mut IndexWriter) -> Result<u64> {
        let seq = self.added_seq.load(Ordering::SeqCst);
        self.dirty.store(false, Ordering::SeqCst);
        let mut prepared = writer.prepare_commit().or_internal()?;
        prepared.set_payload(&seq.to_string());
        prepared.commit().or_internal()?;
        // Reloading before the writer lock is released lets the next waiter trust
        // `searchable_seq`.
        self.reader.reload().or_internal()?;
        self.searchable_seq.fetch_max(seq, Ordering::SeqCst);
        Ok(seq)
    }

    /// Records that every write up to `seq` is in the writer, after a rebuild or a replay.
    pub fn mark_staged(&self, seq: u64) {
        self.added_seq.fetch_max(seq, Ordering::SeqCst);
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Returns the schema field of a path.
    pub fn field(&self, path: &str) -> Option<SchemaField> {
        self.fields.get(path).copied()
    }
}
