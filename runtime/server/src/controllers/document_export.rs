//! `document:export`: the documents matching a query, as JSON lines or CSV, over HTTP only.
//!
//! The formats are Kuzzle's. JSON lines start with `{"collection", "index", "type":
//! "collection"}`, then hold one `{"_id", "body"}` line per document. CSV has `_id` first, then
//! the requested fields (every mapped field by default), with object values written as
//! `[OBJECT]`. Unlike Kuzzle, a CSV cell that contains the separator, a quote or a line break is
//! quoted, so the file stays readable by CSV parsers.

use std::sync::Arc;
use std::time::Duration;

use palisade_api::{ApiError, ApiResult, ErrorId, Protocol, Request, Response};
use palisade_storage::{DocumentStore, SearchRequest, SearchResult};
use serde_json::{Map, Value, json};

use super::document_query::non_negative;
use super::store_args::{self as args, storage_error};
use crate::state::ServerState;

/// Documents fetched per page when the request sets no `size` (Kuzzle's search default).
const DEFAULT_PAGE_SIZE: i64 = 10;
/// Scroll time to live between two pages when the request sets no `scroll`.
const DEFAULT_SCROLL_TTL: Duration = Duration::from_secs(5);

/// Exports the matching documents. The first page is read before the response starts, so that
/// argument and query errors are API errors. Later pages are read and sent one at a time.
pub(super) async fn export(state: &ServerState, request: &Request) -> ApiResult {
    if request.context.protocol != Protocol::Http {
        let protocol = request.context.protocol.name();
        return Err(ApiError::new(
            ErrorId::ApiAssertUnsupportedProtocol,
            format!(
                "document:export is not available over {protocol}: call GET or POST \
                 /<index>/<collection>/_export over HTTP."
            ),
        )
        .with_props([protocol, "document:export"]));
    }
    let (index, collection) = args::target(request)?;
    let format = request.optional_string("format")?.unwrap_or("jsonl");
    let csv = format.eq_ignore_ascii_case("csv");
    let separator = request
        .optional_string("separator")?
        .unwrap_or(",")
        .to_owned();
    let body = export_body(request)?;
    let size = request.integer("size", DEFAULT_PAGE_SIZE)?;
    args::check_fetch_count(state, size)?;
    let ttl = args::scroll_ttl(request)?.unwrap_or(DEFAULT_SCROLL_TTL);

    let mut writer = if csv {
        let mut fields = string_list(request, &body, "fields")?;
        if fields.is_empty() {
            let mapping = state
                .storage
                .get_mapping(index, collection, false)
                .await
                .map_err(storage_error)?;
            fields = mapped_fields(&mapping);
        }
        let names = object_from_body_or_args(request, &body, "fieldsName")?;
        ExportWriter::csv(fields, names, separator)
    } else {
        ExportWriter::jsonl(index, collection)
    };

    let mut search_body = Map::new();
    for name in ["query", "sort", "collapse"] {
        if let Some(value) = object_or_array_from_body_or_args(request, &body, name)? {
            search_body.insert(name.into(), value);
        }
    }
    super::document_query::translate_body_query(request, &mut search_body)?;
    let search = SearchRequest {
        body: Value::Object(search_body),
        from: None,
        size: non_negative(Some(size), "size")?,
        scroll: Some(ttl),
    };

    let first = state
        .storage
        .search(index, collection, search)
        .await
        .map_err(storage_error)?;

    let head = writer.take_chunk();
    let pages = ExportPages {
        storage: state.storage.clone(),
        writer,
        next: NextPage::Ready(first),
        ttl,
    };
    let chunks = futures_util::stream::unfold(pages, ExportPages::next_chunk);
    let content_type = if csv { "text/csv" } else { "application/jsonl" };
    let mut response = Response::streamed(content_type, head, Box::pin(chunks));
    let disposition = format!("attachment; filename=\"{index}-{collection}.{format}\"");
    response
        .headers
        .insert("Content-Disposition".into(), json!(disposition));
    Ok(response)
}

/// The page an export sends next.
enum NextPage {
    /// A page already read.
    Ready(SearchResult),
    /// The page to read with this scroll id.
    Scroll(String),
    /// The export is complete.
    Done,
}

/// The state of an export while it is sent: one chunk per page of results.
struct ExportPages {
    storage: Arc<dyn DocumentStore>,
    writer: ExportWriter,
    next: NextPage,
    ttl: Duration,
}

impl ExportPages {
    /// Formats the next page of results, or returns `None` when every page was sent.
    ///
    /// The HTTP status is already sent when a later page fails, so the error message becomes the
    /// last line of the file, as in Kuzzle.
    async fn next_chunk(mut self) -> Option<(Vec<u8>, Self)> {
        let page = match std::mem::replace(&mut self.next, NextPage::Done) {
            NextPage::Done => return None,
            NextPage::Ready(page) => page,
            NextPage::Scroll(scroll_id) => {
                match self.storage.scroll(&scroll_id, Some(self.ttl)).await {
                    Ok(page) => page,
                    Err(error) => {
                        tracing::warn!(%error, scroll_id, "document:export stopped early");
                        return Some((format!("{error}\n").into_bytes(), self));
                    }
                }
            }
        };

        for hit in &page.hits {
            let source = hit.source.as_ref().unwrap_or(&Value::Null);
            self.writer.write(&hit.id, source);
        }
        let more = !page.hits.is_empty() && page.remaining != Some(0);
        if let (true, Some(scroll_id)) = (more, page.scroll_id) {
            self.next = NextPage::Scroll(scroll_id);
        }
        Some((self.writer.take_chunk(), self))
    }
}

/// Returns the request body, or over HTTP GET the `searchBody` argument.
fn export_body(request: &Request) -> Result<Map<String, Value>, ApiError> {
    super::document_query::search_body(request)
}

/// Reads an object or array from the body, else from the arguments.
fn object_or_array_from_body_or_args(
    request: &Request,
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<Value>, ApiError> {
    if let Some(value) = body.get(name).filter(|v| !v.is_null()) {
        return Ok(Some(value.clone()));
    }
    match request.args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if request.context.string_args => serde_json::from_str(text)
            .map(Some)
            .map_err(|_| ApiError::invalid_type(name, "object")),
        Some(value) => Ok(Some(value.clone())),
    }
}

fn object_from_body_or_args(
    request: &Request,
    body: &Map<String, Value>,
    name: &str,
) -> Result<Map<String, Value>, ApiError> {
    match object_or_array_from_body_or_args(request, body, name)? {
        None => Ok(Map::new()),
        Some(Value::Object(object)) => Ok(object),
        Some(_) => Err(ApiError::invalid_type(name, "object")),
    }
}

/// Reads a list of strings from the body, else from the arguments, where over HTTP it may be a
/// JSON array or a comma-separated list.
fn string_list(
    request: &Request,
    body: &Map<String, Value>,
    name: &str,
) -> Result<Vec<String>, ApiError> {
    let value = match (body.get(name), request.args.get(name)) {
        (Some(value), _) if !value.is_null() => value.clone(),
        (_, Some(Value::String(text))) if !text.trim_start().starts_with('[') => text
            .split(',')
            .filter(|field| !field.is_empty())
            .map(|field| json!(field))
            .collect(),
        _ => Value::Array(request.optional_array(name)?.unwrap_or_default()),
    };
    let Value::Array(list) = value else {
        return Err(ApiError::invalid_type(name, "array of strings"));
    };
    list.into_iter()
        .map(|item| match item {
            Value::String(text) => Ok(text),
            _ => Err(ApiError::invalid_type(name, "array of strings")),
        })
        .collect()
}

/// Returns the dotted paths of every mapped leaf field, in mapping order.
fn mapped_fields(mapping: &Value) -> Vec<String> {
    let mut fields = Vec::new();
    if let Some(properties) = mapping.get("properties").and_then(Value::as_object) {
        collect_fields(properties, "", &mut fields);
    }
    fields
}

fn collect_fields(properties: &Map<String, Value>, prefix: &str, fields: &mut Vec<String>) {
    for (name, definition) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match definition.get("properties").and_then(Value::as_object) {
            Some(children) if definition.get("type").is_none() => {
                collect_fields(children, &path, fields);
            }
            _ => fields.push(path),
        }
    }
}

/// Formats exported documents.
struct ExportWriter {
    csv: Option<CsvColumns>,
    output: Vec<u8>,
}

/// The columns of a CSV export, after the `_id` column.
struct CsvColumns {
    fields: Vec<String>,
    separator: String,
}

impl ExportWriter {
    /// Creates a JSON lines writer, which starts with the collection line.
    fn jsonl(index: &str, collection: &str) -> Self {
        let mut writer = Self {
            csv: None,
            output: Vec::new(),
        };
        let header = json!({"collection": collection, "index": index, "type": "collection"});
        writer.push_line(&header.to_string());
        writer
    }

    /// Creates a CSV writer, which starts with the header row. `_id` is always the first column.
    fn csv(mut fields: Vec<String>, names: Map<String, Value>, separator: String) -> Self {
        fields.retain(|field| field != "_id");
        let header: Vec<String> = std::iter::once("_id")
            .chain(fields.iter().map(String::as_str))
            .map(|field| names.get(field).and_then(Value::as_str).unwrap_or(field))
            .map(|name| csv_cell(name, &separator))
            .collect();
        let mut writer = Self {
            csv: None,
            output: Vec::new(),
        };
        writer.push_line(&header.join(&separator));
        writer.csv = Some(CsvColumns { fields, separator });
        writer
    }

    fn write(&mut self, id: &str, source: &Value) {
        let line = match &self.csv {
            None => json!({"_id": id, "body": source}).to_string(),
            Some(columns) => {
                let cells: Vec<String> = std::iter::once(id.to_owned())
                    .chain(columns.fields.iter().map(|f| csv_text(value_at(source, f))))
                    .map(|text| csv_cell(&text, &columns.separator))
                    .collect();
                cells.join(&columns.separator)
            }
        };
        self.push_line(&line);
    }

    fn push_line(&mut self, line: &str) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.push(b'\n');
    }

    /// Returns what was written since the last call.
    fn take_chunk(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }
}

/// Returns the value at a dotted path.
fn value_at<'v>(source: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(source, |current, segment| current.get(segment))
}

/// Formats a value as Kuzzle's CSV export does: objects and arrays become `[OBJECT]`, missing
/// values and null an empty cell, and whole floats lose their `.0` as in JavaScript.
fn csv_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(_) | Value::Array(_)) => "[OBJECT]".into(),
        Some(Value::Number(number)) => match number.as_f64() {
            Some(float) if !number.is_i64() && !number.is_u64() && float.fract() == 0.0 => {
                format!("{float:.0}")
            }
            _ => number.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

/// Quotes a CSV cell when it contains the separator, a quote or a line break.
fn csv_cell(text: &str, separator: &str) -> String {
    let needs_quotes = text.contains(separator)
        || text.contains('"')
        || text.contains('\n')
        || text.contains('\r');
    if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_quoted_when_needed() {
        assert_eq!(csv_cell("plain", ","), "plain");
        assert_eq!(csv_cell("a,b", ","), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\"", ","), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn csv_values_formatted_like_kuzzle() {
        assert_eq!(csv_text(Some(&json!(18.0))), "18");
        assert_eq!(csv_text(Some(&json!(18.5))), "18.5");
        assert_eq!(csv_text(Some(&json!(7))), "7");
        assert_eq!(csv_text(Some(&json!({"a": 1}))), "[OBJECT]");
        assert_eq!(csv_text(Some(&json!([1]))), "[OBJECT]");
        assert_eq!(csv_text(Some(&json!(null))), "");
        assert_eq!(csv_text(None), "");
        assert_eq!(csv_text(Some(&json!(true))), "true");
    }

    #[test]
    fn csv_rows_start_with_id() {
        let mut names = Map::new();
        names.insert("city.name".into(), json!("City"));
        let fields = vec!["city.name".into(), "_id".into(), "count".into()];
        let mut writer = ExportWriter::csv(fields, names, ";".into());
        writer.write("a", &json!({"city": {"name": "Paris"}, "count": 3}));
        writer.write("b", &json!({"city": {}}));
        let text = String::from_utf8(writer.take_chunk()).unwrap();
        assert_eq!(text, "_id;City;count\na;Paris;3\nb;;\n");
    }

    #[test]
    fn jsonl_starts_with_collection_line() {
        let mut writer = ExportWriter::jsonl("i", "c");
        writer.write("a", &json!({"n": 1}));
        let text = String::from_utf8(writer.take_chunk()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({"collection": "c", "index": "i", "type": "collection"})
        );
        assert_eq!(lines[1], json!({"_id": "a", "body": {"n": 1}}));
    }

    #[test]
    fn mapped_fields_flattened() {
        let mapping = json!({"properties": {
            "name": {"type": "keyword"},
            "city": {"properties": {"name": {"type": "text"}, "zip": {"type": "keyword"}}},
            "tags": {"type": "nested", "properties": {"t": {"type": "keyword"}}}
        }});
        let fields = mapped_fields(&mapping);
        assert!(fields.contains(&"name".to_owned()));
        assert!(fields.contains(&"city.name".to_owned()));
        assert!(fields.contains(&"city.zip".to_owned()));
        assert!(fields.contains(&"tags".to_owned()));
        assert_eq!(fields.len(), 4);
    }
}
