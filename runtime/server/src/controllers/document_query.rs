//! Query actions of the `document` controller: search, scroll, count, deleteByQuery,
//! updateByQuery and export.

use std::time::Duration;

use palisade_api::{ApiError, ApiResult, ErrorId, Protocol, Request, Response};
use palisade_realtime::DocumentAction;
use palisade_storage::{SearchRequest, SearchResult};
use serde_json::{Map, Value, json};

use super::store_args::{self as args, Notifier, storage_error};
use crate::state::ServerState;

/// Page size of `document:export` when the request sets none.
const EXPORT_PAGE_SIZE: i64 = 1000;
/// Scroll time to live of `document:export` between two pages.
const EXPORT_SCROLL_TTL: Duration = Duration::from_secs(30);

/// Returns the search body: the request body, or over HTTP GET the `searchBody` argument.
fn search_body(request: &Request) -> Result<Map<String, Value>, ApiError> {
    match &request.body {
        Some(Value::Object(body)) => Ok(body.clone()),
        Some(_) => Err(ApiError::invalid_type("body", "object")),
        None => Ok(request.optional_object("searchBody")?.unwrap_or_default()),
    }
}

/// Translates `body.query` in place when `lang=koncorde`.
fn translate_body_query(request: &Request, body: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(query) = body.remove("query") {
        body.insert("query".into(), args::translate_query(request, query)?);
    } else {
        args::translate_query(request, json!({}))?;
    }
    Ok(())
}

/// Reads `from` or `size` from the arguments, else from the body.
fn page_bound(
    request: &Request,
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    if request.args.get(name).is_some_and(|v| !v.is_null()) {
        return request.integer(name, 0).map(Some);
    }
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid_type(&format!("body.{name}"), "integer")),
    }
}

fn non_negative(value: Option<i64>, name: &str) -> Result<Option<usize>, ApiError> {
    value
        .map(|v| {
            usize::try_from(v).map_err(|_| ApiError::invalid_argument(name, "an integer >= 0"))
        })
        .transpose()
}

/// Returns the single index and collection of `targets`, the multi-index form of a search. The
/// store searches one collection at a time, so several targets are rejected.
fn single_target(request: &Request) -> Result<Option<(String, String)>, ApiError> {
    let Some(targets) = request.optional_array("targets")? else {
        return Ok(None);
    };
    let [target] = targets.as_slice() else {
        return Err(ApiError::new(
            ErrorId::ServicesStorageNoMultiIndexes,
            "Searching several indexes at once is not supported by this storage engine: send \
             one target, or one search per index.",
        ));
    };
    let index = target.get("index").and_then(Value::as_str);
    let collections = target.get("collections").and_then(Value::as_array);
    let (Some(index), Some(collections)) = (index, collections) else {
        return Err(ApiError::new(
            ErrorId::ServicesStorageInvalidTargetFormat,
            "Invalid \"targets\": expected [{\"index\": \"<index>\", \"collections\": [...]}].",
        ));
    };
    let [Value::String(collection)] = collections.as_slice() else {
        return Err(ApiError::new(
            ErrorId::ServicesStorageNoMultiCollections,
            "Searching several collections at once is not supported by this storage engine: \
             send one collection, or one search per collection.",
        ));
    };
    args::check_public_index(index)?;
    Ok(Some((index.to_owned(), collection.clone())))
}

pub(super) async fn search(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = match single_target(request)? {
        Some(target) => target,
        None => {
            let (index, collection) = args::target(request)?;
            (index.to_owned(), collection.to_owned())
        }
    };
    let mut body = search_body(request)?;
    translate_body_query(request, &mut body)?;
    let from = page_bound(request, &body, "from")?;
    let size = page_bound(request, &body, "size")?;

    // Kuzzle checks `size - from` against the fetch limit, not `size`.
    args::check_fetch_count(state, size.unwrap_or(10) - from.unwrap_or(0))?;
    let search = SearchRequest {
        body: Value::Object(body),
        from: non_negative(from, "from")?,
        size: non_negative(size, "size")?,
        scroll: args::scroll_ttl(request)?,
    };

    let result = state
        .storage
        .search(&index, &collection, search)
        .await
        .map_err(storage_error)?;
    Ok(search_result(result).into())
}

/// Formats a page of results as Kuzzle does:
/// `{hits: [{_id, _score, _source, index, collection, highlight?}], total, aggregations?,
/// scrollId?, remaining?}`.
fn search_result(result: SearchResult) -> Value {
    let hits: Vec<Value> = result
        .hits
        .into_iter()
        .map(|hit| {
            let mut object = json!({
                "_id": hit.id,
                "_score": hit.score,
                "_source": hit.source.unwrap_or(Value::Null),
                "index": hit.index,
                "collection": hit.collection,
            });
            if let Some(highlight) = hit.highlight {
                object["highlight"] = highlight;
            }
            object
        })
        .collect();

    let mut value = json!({"hits": hits, "total": result.total});
    if let Some(aggregations) = result.aggregations {
        value["aggregations"] = aggregations;
    }
    if let Some(scroll_id) = result.scroll_id {
        value["scrollId"] = json!(scroll_id);
    }
    if let Some(remaining) = result.remaining {
        value["remaining"] = json!(remaining);
    }
    value
}

pub(super) async fn scroll(state: &ServerState, request: &Request) -> ApiResult {
    let scroll_id = request.string("scrollId")?;
    let ttl = args::scroll_ttl(request)?;
    let result = state
        .storage
        .scroll(scroll_id, ttl)
        .await
        .map_err(storage_error)?;
    Ok(search_result(result).into())
}

pub(super) async fn count(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let body = search_body(request)?;
    let query = match body.get("query") {
        None | Some(Value::Null) => {
            // Translating an empty filter still rejects an unknown `lang`.
            args::translate_query(request, json!({}))?;
            json!({"match_all": {}})
        }
        Some(query) => args::translate_query(request, query.clone())?,
    };
    let count = state
        .storage
        .count(index, collection, query)
        .await
        .map_err(storage_error)?;
    Ok(json!({"count": count}).into())
}

/// Rejects a by-query write that matches more documents than `limits.documentsWriteCount`, as
/// Kuzzle does before writing anything.
async fn check_matches(
    state: &ServerState,
    index: &str,
    collection: &str,
    query: &Value,
) -> Result<(), ApiError> {
    let matches = state
        .storage
        .count(index, collection, query.clone())
        .await
        .map_err(storage_error)?;
    args::check_write_count(state, usize::try_from(matches).unwrap_or(usize::MAX))
}

pub(super) async fn delete_by_query(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let query = args::required_query(request)?;
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    check_matches(state, index, collection, &query).await?;

    let writes = state
        .storage
        .delete_by_query(index, collection, query, options)
        .await
        .map_err(storage_error)?;
    let mut documents = Vec::with_capacity(writes.len());
    let mut ids = Vec::with_capacity(writes.len());
    for write in &writes {
        notifier.notify(DocumentAction::Delete, write);
        let mut document = json!({"_id": write.id});
        if full_source {
            document["_source"] = write.old_source.clone().unwrap_or(Value::Null);
        }
        documents.push(document);
        ids.push(json!(write.id));
    }
    Ok(json!({"documents": documents, "ids": ids}).into())
}

pub(super) async fn update_by_query(state: &ServerState, request: &Request) -> ApiResult {
    let (index, collection) = args::target(request)?;
    let query = args::required_query(request)?;
    let body = request.body_object()?;
    let changes = Value::Object(args::body_object_field(body, "changes")?.clone());
    let info = args::updated_info(args::user_id(request), args::now_ms());
    let changes = args::with_info(changes, info, "body.changes")?;
    let updated_fields = args::updated_fields(&changes);
    let options = args::write_options(request)?;
    let full_source = request.boolean("source")?;
    let notifier = Notifier::for_document(state, request, index, collection)?;
    check_matches(state, index, collection, &query).await?;

    let writes = state
        .storage
        .update_by_query(index, collection, query, changes, options)
        .await
        .map_err(storage_error)?;
    let mut successes = Vec::with_capacity(writes.len());
    let mut errors = Vec::new();
    for write in writes {
        let write = match write {
            Ok(write) => write,
            Err(error) => {
                let error = storage_error(error);
                errors.push(json!({"reason": error.message(), "status": error.status()}));
                continue;
            }
        };
        let action = DocumentAction::Update {
            updated_fields: updated_fields.clone(),
        };
        notifier.notify(action, &write);
        let mut success = json!({"_id": write.id, "_version": write.version, "status": 200});
        if full_source {
            success["_source"] = write.source.unwrap_or(Value::Null);
        }
        successes.push(success);
    }
    Ok(json!({"successes": successes, "errors": errors}).into())
}

/// Exports the matching documents as JSON lines (`{"_id", "_source"}` per line) or CSV.
///
/// TODO(perf): the whole export is built in memory before it is sent, because raw responses
/// have no streaming body yet; an export of a large collection costs its full size in memory.
pub(super) async fn export(state: &ServerState, request: &Request) -> ApiResult {
    if request.context.protocol != Protocol::Http {
        return Err(ApiError::new(
            ErrorId::ApiAssertUnsupportedProtocol,
            format!(
                "document:export is only available over HTTP, not over {}: call \
                 GET or POST /<index>/<collection>/_export.",
                request.context.protocol.name()
            ),
        )
        .with_props(["document:export", request.context.protocol.name()]));
    }
    let (index, collection) = args::target(request)?;
    let format = ExportFormat::from_request(request)?;
    let mut body = search_body(request)?;
    let fields = export_fields(request, &mut body)?;
    let names = export_field_names(request, &mut body)?;
    let separator = request
        .optional_string("separator")?
        .unwrap_or(",")
        .to_owned();
    translate_body_query(request, &mut body)?;
    let size = request.integer("size", EXPORT_PAGE_SIZE)?;
    args::check_fetch_count(state, size)?;
    let ttl = args::scroll_ttl(request)?.unwrap_or(EXPORT_SCROLL_TTL);

    let search = SearchRequest {
        body: Value::Object(body),
        from: None,
        size: non_negative(Some(size), "size")?,
        scroll: Some(ttl),
    };
    let mut page = state
        .storage
        .search(index, collection, search)
        .await
        .map_err(storage_error)?;

    let mut writer = ExportWriter::new(format, fields, names, separator);
    loop {
        for hit in &page.hits {
            writer.write(&hit.id, hit.source.as_ref().unwrap_or(&Value::Null));
        }
        let (Some(scroll_id), false) = (&page.scroll_id, page.hits.is_empty()) else {
            break;
        };
        if page.remaining == Some(0) {
            break;
        }
        page = state
            .storage
            .scroll(scroll_id, Some(ttl))
            .await
            .map_err(storage_error)?;
    }
    Ok(Response::raw(format.content_type(), writer.finish()))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    fn from_request(request: &Request) -> Result<Self, ApiError> {
        match request.optional_string("format")? {
            None | Some("jsonl") => Ok(Self::Jsonl),
            Some("csv") => Ok(Self::Csv),
            Some(_) => Err(ApiError::invalid_argument("format", "\"jsonl\" or \"csv\"")),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Jsonl => "application/jsonl",
            Self::Csv => "text/csv",
        }
    }
}

/// Reads the exported fields: `fields` from the body or the arguments (a JSON array, or a comma
/// list over HTTP).
fn export_fields(
    request: &Request,
    body: &mut Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    let value = match body.remove("fields") {
        Some(value) => value,
        None => match request.args.get("fields") {
            Some(Value::String(text)) if !text.starts_with('[') => Value::Array(
                text.split(',')
                    .filter(|f| !f.is_empty())
                    .map(|f| json!(f))
                    .collect(),
            ),
            _ => Value::Array(request.optional_array("fields")?.unwrap_or_default()),
        },
    };
    let Value::Array(list) = value else {
        return Err(ApiError::invalid_type("fields", "array of strings"));
    };
    list.into_iter()
        .map(|field| match field {
            Value::String(field) => Ok(field),
            _ => Err(ApiError::invalid_type("fields", "array of strings")),
        })
        .collect()
}

/// Reads `fieldsName`, the CSV header of each field, from the body or the arguments.
fn export_field_names(
    request: &Request,
    body: &mut Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    match body.remove("fieldsName") {
        Some(Value::Object(names)) => Ok(names),
        Some(_) => Err(ApiError::invalid_type("fieldsName", "object")),
        None => Ok(request.optional_object("fieldsName")?.unwrap_or_default()),
    }
}

/// Formats exported documents.
struct ExportWriter {
    format: ExportFormat,
    fields: Vec<String>,
    names: Map<String, Value>,
    separator: String,
    output: Vec<u8>,
    header_written: bool,
}

impl ExportWriter {
    fn new(
        format: ExportFormat,
        fields: Vec<String>,
        names: Map<String, Value>,
        separator: String,
    ) -> Self {
        Self {
            format,
            fields,
            names,
            separator,
            output: Vec::new(),
            header_written: false,
        }
    }

    fn write(&mut self, id: &str, source: &Value) {
        match self.format {
            ExportFormat::Jsonl => {
                let line = json!({"_id": id, "_source": source});
                self.output.extend(line.to_string().as_bytes());
                self.output.push(b'\n');
            }
            ExportFormat::Csv => self.write_csv(id, source),
        }
    }

    fn write_csv(&mut self, id: &str, source: &Value) {
        if !self.header_written {
            if self.fields.is_empty() {
                // Without `fields`, the columns are `_id` and the first document's top-level
                // fields.
                self.fields.push("_id".into());
                if let Some(object) = source.as_object() {
                    self.fields.extend(object.keys().cloned());
                }
            }
            let header: Vec<String> = self
                .fields
                .iter()
                .map(|field| {
                    let name = self
                        .names
                        .get(field)
                        .and_then(Value::as_str)
                        .unwrap_or(field);
                    csv_cell(name, &self.separator)
                })
                .collect();
            self.push_row(&header);
            self.header_written = true;
        }

        let row: Vec<String> = self
            .fields
            .iter()
            .map(|field| {
                let text = if field == "_id" {
                    id.to_owned()
                } else {
                    match value_at(source, field) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(text)) => text.clone(),
                        Some(other) => other.to_string(),
                    }
                };
                csv_cell(&text, &self.separator)
            })
            .collect();
        self.push_row(&row);
    }

    fn push_row(&mut self, cells: &[String]) {
        self.output.extend(cells.join(&self.separator).as_bytes());
        self.output.push(b'\n');
    }

    fn finish(self) -> Vec<u8> {
        self.output
    }
}

/// Returns the value at a dotted path.
fn value_at<'v>(source: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(source, |current, segment| current.get(segment))
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
    fn csv_rows_follow_fields() {
        let mut names = Map::new();
        names.insert("city.name".into(), json!("City"));
        let mut writer = ExportWriter::new(
            ExportFormat::Csv,
            vec!["_id".into(), "city.name".into(), "count".into()],
            names,
            ";".into(),
        );
        writer.write("a", &json!({"city": {"name": "Paris"}, "count": 3}));
        writer.write("b", &json!({"city": {}}));
        let text = String::from_utf8(writer.finish()).unwrap();
        assert_eq!(text, "_id;City;count\na;Paris;3\nb;;\n");
    }
}
