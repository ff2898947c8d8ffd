//! Work on a call's new sources that the caller does before the call joins the writer queue:
//! the mapping check, the serialized record and the search document.
//!
//! One thread applies every queued write (see `write_queue.rs`), so each step moved out of it
//! shortens the round trip of every caller. Callers prepare in parallel, on their own threads.
//! The writer uses a prepared source only while the collection still has the mapping and the
//! search index it was prepared with, and otherwise checks and converts the source itself.

use std::sync::Arc;

use serde_json::Value;
use tantivy::TantivyDocument;

use super::search_index::SearchIndex;
use super::write::{WriteOp, generate_id};
use super::{Collection, db};
use crate::mapping::Mapping;

/// The prepared sources of one queued call.
pub(crate) struct PreparedCall {
    /// The mapping the sources were checked and converted with.
    pub mapping: Mapping,
    /// The search index the search documents were built for.
    pub search: Arc<SearchIndex>,
    /// One entry per operation: `None` for an operation without a new source (an update, a
    /// delete) and for a source that failed the mapping check or adds fields to the mapping.
    pub sources: Vec<Option<PreparedSource>>,
}

/// A new source that passed the mapping check without adding a field.
pub(crate) struct PreparedSource {
    /// The document record in the format of `db::encode_document`, with a version of 0. The
    /// writer sets the version after reading the stored document.
    pub record: Vec<u8>,
    /// The document for the search index.
    pub document: TantivyDocument,
}

impl PreparedSource {
    /// Returns the record with its version set.
    pub fn into_record(mut self, version: u64) -> (Vec<u8>, TantivyDocument) {
        self.record[..8].copy_from_slice(&version.to_le_bytes());
        (self.record, self.document)
    }
}

/// Prepares the new sources of a call's operations against the collection's current mapping
/// and search index. A create without an id gets its generated id here, because the search
/// document contains the id.
pub(crate) fn prepare(collection: &Collection, operations: &mut [WriteOp]) -> PreparedCall {
    let (mapping, search) = collection.snapshot();
    let mut checker = MappingChecker::new(&mapping);
    let sources = operations
        .iter_mut()
        .map(|operation| {
            let (id, source) = new_source(operation)?;
            if !checker.fits(collection, source) {
                return None;
            }
            Some(PreparedSource {
                record: db::encode_document(0, source),
                document: search.to_tantivy(&mapping, id, source),
            })
        })
        .collect();
    PreparedCall {
        mapping,
        search,
        sources,
    }
}

/// Returns the id and the new source of an operation that writes a source given in the call.
fn new_source(operation: &mut WriteOp) -> Option<(&str, &Value)> {
    match operation {
        WriteOp::Create { id, source } => Some((id.get_or_insert_with(generate_id), source)),
        WriteOp::CreateOrReplace { id, source } | WriteOp::Replace { id, source } => {
            Some((id, source))
        }
        _ => None,
    }
}

/// Checks sources against a copy of a mapping, so the caller's check never changes the
/// collection's mapping. Adding fields is left to the writer, which owns the mapping.
struct MappingChecker<'a> {
    original: &'a Mapping,
    copy: Mapping,
    can_grow: bool,
}

impl<'a> MappingChecker<'a> {
    fn new(original: &'a Mapping) -> Self {
        Self {
            original,
            copy: original.clone(),
            can_grow: original.can_grow(),
        }
    }

    /// Returns whether a source passes the mapping check without adding a field.
    fn fits(&mut self, collection: &Collection, source: &Value) -> bool {
        let checked = self
            .copy
            .apply_document(source, &collection.index, &collection.name);
        let fits = matches!(checked, Ok(false));
        // A source that added fields, or failed after adding some, changed the copy.
        if !fits && self.can_grow {
            self.copy = self.original.clone();
        }
        fits
    }
}
