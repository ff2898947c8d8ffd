//! Sort keys read from tantivy fast fields, so a sorted search reads only its page from redb.

use serde_json::Value;
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Searcher, SegmentReader};

use super::db::OrInternal;
use super::search_index::ID_FIELD;
use crate::error::Result;
use crate::mapping::{FieldType, IndexValue, Mapping};
use crate::query::sort::{Missing, SortField, SortKey, SortValue};
use crate::query::value::coerce;

/// A match with its sort values.
#[derive(Debug)]
pub(super) struct Keyed {
    pub address: DocAddress,
    pub score: f32,
    pub sort: Vec<SortValue>,
}

/// Reads one sort key in one segment.
enum KeyReader {
    Score,
    Text(Option<StrColumn>),
    Integer(Column<i64>),
    Float(Column<f64>),
    Flag(Column<bool>),
    Date(Column<tantivy::DateTime>),
    Absent,
}

impl KeyReader {
    fn open(segment: &SegmentReader, field: &SortField, mapping: &Mapping) -> Result<Self> {
        let fast = segment.fast_fields();
        let path = match &field.key {
            SortKey::Score => return Ok(Self::Score),
            SortKey::Id => return Ok(Self::Text(fast.str(ID_FIELD).or_internal()?)),
            SortKey::Field(path) => path.as_str(),
        };
        // A field without values in a segment has no column there: its documents are missing.
        let reader = match mapping.leaf_type(path) {
            Some(FieldType::Keyword) => Self::Text(fast.str(path).ok().flatten()),
            Some(FieldType::Integer | FieldType::Long) => {
                fast.i64(path).map_or(Self::Absent, Self::Integer)
            }
            Some(FieldType::Float | FieldType::Double) => {
                fast.f64(path).map_or(Self::Absent, Self::Float)
            }
            Some(FieldType::Boolean) => fast.bool(path).map_or(Self::Absent, Self::Flag),
            Some(FieldType::Date) => fast.date(path).map_or(Self::Absent, Self::Date),
            _ => Self::Absent,
        };
        Ok(reader)
    }

    /// Returns the smallest value of a document, or the largest when `largest`.
    fn read(&self, doc: DocId, score: f32, largest: bool) -> Result<Option<SortValue>> {
        let pick = |values: Vec<f64>| -> Option<SortValue> {
            let picked = values
                .into_iter()
                .reduce(|a, b| if (b > a) == largest { b } else { a });
            picked.map(SortValue::Number)
        };
        let value = match self {
            Self::Score => Some(SortValue::Number(f64::from(score))),
            Self::Text(None) | Self::Absent => None,
            Self::Text(Some(column)) => {
                let ords = column.term_ords(doc);
                let ord = if largest { ords.max() } else { ords.min() };
                match ord {
                    Some(ord) => {
                        let mut text = String::new();
                        column.ord_to_str(ord, &mut text).or_internal()?;
                        Some(SortValue::Text(text))
                    }
                    None => None,
                }
            }
            Self::Integer(column) => pick(column.values_for_doc(doc).map(|v| v as f64).collect()),
            Self::Float(column) => pick(column.values_for_doc(doc).collect()),
            Self::Flag(column) => pick(
                column
                    .values_for_doc(doc)
                    .map(|v| f64::from(u8::from(v)))
                    .collect(),
            ),
            Self::Date(column) => pick(
                column
                    .values_for_doc(doc)
                    .map(|v| v.into_timestamp_millis() as f64)
                    .collect(),
            ),
        };
        Ok(value)
    }
}

/// Computes the sort values of matches from the fast fields of their segments.
pub(super) fn sort_keys(
    searcher: &Searcher,
    hits: Vec<(f32, DocAddress)>,
    sort: &[SortField],
    mapping: &Mapping,
) -> Result<Vec<Keyed>> {
    let defaults: Vec<SortValue> = sort
        .iter()
        .map(|field| missing_value(field, mapping))
        .collect();
    let mut readers: Vec<Option<Vec<KeyReader>>> = Vec::new();
    readers.resize_with(searcher.segment_readers().len(), || None);
    let mut keyed = Vec::with_capacity(hits.len());
    for (score, address) in hits {
        let slot = &mut readers[address.segment_ord as usize];
        if slot.is_none() {
            let segment = searcher.segment_reader(address.segment_ord);
            let opened = sort
                .iter()
                .map(|field| KeyReader::open(segment, field, mapping));
            *slot = Some(opened.collect::<Result<Vec<_>>>()?);
        }
        let segment_readers = slot.as_ref().expect("opened above");
        let mut values = Vec::with_capacity(sort.len());
        for ((reader, field), default) in segment_readers.iter().zip(sort).zip(&defaults) {
            let value = reader.read(address.doc_id, score, field.descending)?;
            values.push(value.unwrap_or_else(|| default.clone()));
        }
        keyed.push(Keyed {
            address,
            score,
            sort: values,
        });
    }
    Ok(keyed)
}

/// Returns the sort value of a document without a value: `Missing`, or the `missing` value.
fn missing_value(field: &SortField, mapping: &Mapping) -> SortValue {
    let (Missing::Value(default), SortKey::Field(path)) = (&field.missing, &field.key) else {
        return SortValue::Missing;
    };
    let Some(field_type) = mapping.leaf_type(path) else {
        return SortValue::Missing;
    };
    match coerce(field_type, default) {
        Some(IndexValue::Str(text)) => SortValue::Text(text),
        Some(IndexValue::I64(number) | IndexValue::Date(number)) => {
            SortValue::Number(number as f64)
        }
        Some(IndexValue::F64(number)) => SortValue::Number(number),
        Some(IndexValue::Bool(flag)) => SortValue::Number(f64::from(u8::from(flag))),
        Some(IndexValue::Geo(_)) | None => SortValue::from_json(&Value::Null),
    }
}

/// Reads the document ids of matches from the `_id` fast field.
pub(super) fn document_ids(searcher: &Searcher, addresses: &[DocAddress]) -> Result<Vec<String>> {
    let mut columns: Vec<Option<StrColumn>> = Vec::new();
    columns.resize_with(searcher.segment_readers().len(), || None);
    let mut ids = Vec::with_capacity(addresses.len());
    for address in addresses {
        let slot = &mut columns[address.segment_ord as usize];
        if slot.is_none() {
            let segment = searcher.segment_reader(address.segment_ord);
            *slot = segment.fast_fields().str(ID_FIELD).or_internal()?;
        }
        let mut id = String::new();
        if let Some(column) = slot.as_ref()
            && let Some(ord) = column.term_ords(address.doc_id).next()
        {
            column.ord_to_str(ord, &mut id).or_internal()?;
        }
        ids.push(id);
    }
    Ok(ids)
}
