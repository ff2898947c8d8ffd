//! Search execution: matching and scoring in tantivy, then sort, pagination, `_source`
//! filtering and highlight on the sources read from redb.

use std::cmp::Ordering;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable};
use serde_json::{Map, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query as TantivyQuery;
use tantivy::schema::Value as _;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::db::{self, DOCUMENTS, OrInternal};
use super::scroll::ScrollEntry;
use super::search_index::SearchIndex;
use super::translate::Translator;
use super::{Collection, Inner, aggregation};
use crate::error::{Result, StorageError};
use crate::mapping::{FieldType, Mapping};
use crate::query::eval;
use crate::query::highlight::Highlight;
use crate::query::sort::{SortField, SortValue};
use crate::query::source::SourceFilter;
use crate::query::{Query, SearchBody, parse_query};
use crate::store::{Hit, SearchRequest, SearchResult};
use crate::value::values_at;

/// Default page size of a search, as Elasticsearch.
const DEFAULT_SIZE: usize = 10;

/// A matching document with what sorting needs.
struct Candidate {
    id: String,
    score: f32,
    version: u64,
    source: Value,
    sort: Vec<SortValue>,
}

impl Inner {
    pub fn search(&self, index: &str, name: &str, request: SearchRequest) -> Result<SearchResult> {
        let body = SearchBody::parse(&request.body)?;
        let from = request.from.or(body.from).unwrap_or(0);
        let size = request.size.or(body.size).unwrap_or(DEFAULT_SIZE);
        self.check_window(from, size, request.scroll)?;
        let collection = self.collection(index, name)?;
        let (mapping, search) = collection.snapshot();
        for field in &body.sort {
            field.check(&mapping)?;
        }
        if body.search_after.is_some() && body.sort.is_empty() {
            return Err(StorageError::query("`search_after` requires `sort`"));
        }

        let query = self.translate(&collection, &mapping, &search, &body.query)?;
        let searcher = search.reader.searcher();
        let total = searcher.search(&*query, &Count).or_internal()? as u64;
        let aggregations = match &body.aggregations {
            Some(request) => {
                let load = |id: &str| db::read_document(&self.db, &collection.key, id);
                Some(aggregation::run(
                    &searcher, &*query, request, &mapping, &load,
                )?)
            }
            None => None,
        };

        // TODO(perf): sorting reads every matching source from redb; sorting on tantivy fast
        // fields would read only the page.
        let needs_all =
            !body.sort.is_empty() || body.search_after.is_some() || request.scroll.is_some();
        let limit = if needs_all {
            searcher.num_docs() as usize
        } else {
            from + size
        };
        let mut candidates =
            self.load_candidates(&collection, &search, &searcher, &*query, limit)?;
        sort_candidates(&mut candidates, &body.sort, &mapping);
        if let Some(after) = &body.search_after {
            let after: Vec<SortValue> = after.iter().map(SortValue::from_json).collect();
            candidates.retain(|candidate| {
                compare_keys(&body.sort, &candidate.sort, &after) == Ordering::Greater
            });
        }

        let sorted = !body.sort.is_empty();
        if let Some(ttl) = request.scroll {
            return Ok(self.start_scroll(&collection, candidates, size, body.source, ttl, sorted));
        }
        let page: Vec<Candidate> = candidates.into_iter().skip(from).take(size).collect();
        let highlighter = match &body.highlight {
            Some(highlight) => Some(Highlighter::new(
                highlight, &searcher, &*query, &search, &mapping,
            )?),
            None => None,
        };
        let hits = page
            .into_iter()
            .map(|candidate| {
                let highlight = highlighter
                    .as_ref()
                    .and_then(|h| h.highlight(&candidate.source));
                to_hit(&collection, candidate, &body.source, highlight, sorted)
            })
            .collect();
        Ok(SearchResult {
            hits,
            total,
            aggregations,
            scroll_id: None,
            remaining: None,
        })
    }

    fn check_window(&self, from: usize, size: usize, scroll: Option<Duration>) -> Result<()> {
        let window = self.config.max_result_window;
        let requested = if scroll.is_some() {
            size
        } else {
            from.saturating_add(size)
        };
        if requested > window {
            return Err(StorageError::GetLimitExceeded {
                requested: requested as u64,
                limit: window as u64,
            });
        }
        if let Some(ttl) = scroll {
            let max = self.config.max_scroll_ttl;
            if ttl > max {
                return Err(StorageError::ScrollDurationTooGreat {
                    requested_ms: ttl.as_millis() as u64,
                    max_ms: max.as_millis() as u64,
                });
            }
        }
        Ok(())
    }

    /// Translates a query, evaluating on the stored sources the clauses the index cannot evaluate.
    fn translate(
        &self,
        collection: &Collection,
        mapping: &Mapping,
        search: &SearchIndex,
        query: &Query,
    ) -> Result<Box<dyn TantivyQuery>> {
        let resolve = |clause: &Query| -> Result<Vec<String>> {
            // TODO(perf): nested and geo clauses scan every stored document of the collection.
            let mut ids = Vec::new();
            db::scan_documents(&self.db, &collection.key, |id, _, source| {
                if eval::matches(clause, mapping, id, &source)? {
                    ids.push(id.to_owned());
                }
                Ok(())
            })?;
            Ok(ids)
        };
        let translator = Translator {
            mapping,
            search,
            resolve_ids: &resolve,
        };
        translator.translate(query)
    }

    /// Runs a query clause (`count`, by-query actions) and returns the matching ids.
    pub fn matching_ids(&self, index: &str, name: &str, query: &Value) -> Result<Vec<String>> {
        let query = parse_query(query)?;
        let collection = self.collection(index, name)?;
        let (mapping, search) = collection.snapshot();
        // By-query writes act on every acknowledged write, as Elasticsearch refreshes first.
        self.commit_search(&collection.key, &search)?;
        let query = self.translate(&collection, &mapping, &search, &query)?;
        let searcher = search.reader.searcher();
        let limit = searcher.num_docs() as usize;
        let hits = searcher
            .search(&*query, &TopDocs::with_limit(limit.max(1)).order_by_score())
            .or_internal()?;
        hits.into_iter()
            .map(|(_, address)| document_id(&searcher, address, &search))
            .collect()
    }

    pub fn count(&self, index: &str, name: &str, query: &Value) -> Result<u64> {
        let query = parse_query(query)?;
        let collection = self.collection(index, name)?;
        let (mapping, search) = collection.snapshot();
        let query = self.translate(&collection, &mapping, &search, &query)?;
        let searcher = search.reader.searcher();
        Ok(searcher.search(&*query, &Count).or_internal()? as u64)
    }

    fn load_candidates(
        &self,
        collection: &Collection,
        search: &SearchIndex,
        searcher: &Searcher,
        query: &dyn TantivyQuery,
        limit: usize,
    ) -> Result<Vec<Candidate>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let top = TopDocs::with_limit(limit).order_by_score();
        let hits = searcher.search(query, &top).or_internal()?;
        let txn = self.db.begin_read().or_internal()?;
        let documents = txn.open_table(DOCUMENTS).or_internal()?;
        let mut candidates = Vec::with_capacity(hits.len());
        for (score, address) in hits {
            let id = document_id(searcher, address, search)?;
            // A document deleted since the last refresh is still in the index but no longer
            // stored: it is left out, as a real-time get would not find it either.
            let Some(bytes) = documents
                .get((collection.key.as_str(), id.as_str()))
                .or_internal()?
            else {
                continue;
            };
            let (version, source) = db::decode_document(bytes.value())?;
            candidates.push(Candidate {
                id,
                score,
                version,
                source,
                sort: Vec::new(),
            });
        }
        Ok(candidates)
    }

    fn start_scroll(
        &self,
        collection: &Collection,
        candidates: Vec<Candidate>,
        size: usize,
        source: SourceFilter,
        ttl: Duration,
        sorted: bool,
    ) -> SearchResult {
        let total = candidates.len() as u64;
        let entries = candidates
            .iter()
            .map(|candidate| ScrollEntry {
                id: candidate.id.clone(),
                score: candidate.score,
                sort: sorted.then(|| candidate.sort.iter().map(SortValue::to_json).collect()),
            })
            .collect();
        let scroll_id = self.scrolls.register(
            &collection.index,
            &collection.name,
            entries,
            size,
            source.clone(),
            ttl,
        );
        let hits: Vec<Hit> = candidates
            .into_iter()
            .take(size)
            .map(|candidate| to_hit(collection, candidate, &source, None, sorted))
            .collect();
        let remaining = total - hits.len() as u64;
        SearchResult {
            hits,
            total,
            aggregations: None,
            scroll_id: Some(scroll_id),
            remaining: Some(remaining),
        }
    }

    pub fn scroll(&self, scroll_id: &str, ttl: Option<Duration>) -> Result<SearchResult> {
        if let Some(ttl) = ttl {
            self.check_window(0, 0, Some(ttl))?;
        }
        let page = self.scrolls.next_page(scroll_id, ttl)?;
        let key = db::collection_key(&page.index, &page.collection);
        let mut hits = Vec::with_capacity(page.entries.len());
        for entry in page.entries {
            let Some((version, source)) = db::read_document(&self.db, &key, &entry.id)? else {
                continue;
            };
            hits.push(Hit {
                index: page.index.clone(),
                collection: page.collection.clone(),
                id: entry.id,
                score: entry.score,
                source: page.source.apply(&source),
                version,
                highlight: None,
                sort: entry.sort,
            });
        }
        Ok(SearchResult {
            hits,
            total: page.total,
            aggregations: None,
            scroll_id: Some(scroll_id.to_owned()),
            remaining: Some(page.remaining),
        })
    }
}

fn document_id(searcher: &Searcher, address: DocAddress, search: &SearchIndex) -> Result<String> {
    let document: TantivyDocument = searcher.doc(address).or_internal()?;
    document
        .get_first(search.id_field)
        .and_then(|value| value.as_str())
        .map(str::to_owned)
        .ok_or_else(|| StorageError::internal("a search index document has no id"))
}

fn sort_candidates(candidates: &mut [Candidate], sort: &[SortField], mapping: &Mapping) {
    if sort.is_empty() {
        return;
    }
    for candidate in candidates.iter_mut() {
        candidate.sort = sort
            .iter()
            .map(|field| field.value_of(mapping, &candidate.id, candidate.score, &candidate.source))
            .collect();
    }
    candidates.sort_by(|left, right| compare_keys(sort, &left.sort, &right.sort));
}

fn compare_keys(sort: &[SortField], left: &[SortValue], right: &[SortValue]) -> Ordering {
    for ((field, left), right) in sort.iter().zip(left).zip(right) {
        let ordering = field.compare(left, right);
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

fn to_hit(
    collection: &Collection,
    candidate: Candidate,
    filter: &SourceFilter,
    highlight: Option<Value>,
    sorted: bool,
) -> Hit {
    Hit {
        index: collection.index.clone(),
        collection: collection.name.clone(),
        id: candidate.id,
        score: candidate.score,
        source: filter.apply(&candidate.source),
        version: candidate.version,
        highlight,
        sort: sorted.then(|| candidate.sort.iter().map(SortValue::to_json).collect()),
    }
}

/// Builds `highlight` fragments for the `text` fields of a request.
struct Highlighter {
    generators: Vec<(String, tantivy::schema::Field, SnippetGenerator)>,
    pre_tag: String,
    post_tag: String,
}

impl Highlighter {
    fn new(
        request: &Highlight,
        searcher: &Searcher,
        query: &dyn TantivyQuery,
        search: &SearchIndex,
        mapping: &Mapping,
    ) -> Result<Self> {
        let mut generators = Vec::new();
        for path in &request.fields {
            if mapping.leaf_type(path) != Some(FieldType::Text) {
                return Err(StorageError::unsupported(format!(
                    "highlight on non-text field `{path}`"
                )));
            }
            let Some(field) = search.field(path) else {
                continue;
            };
            let mut generator =
                SnippetGenerator::create(searcher, query, field.field).or_internal()?;
            generator.set_max_num_chars(request.fragment_size);
            generators.push((path.clone(), field.field, generator));
        }
        Ok(Self {
            generators,
            pre_tag: request.pre_tag.clone(),
            post_tag: request.post_tag.clone(),
        })
    }

    fn highlight(&self, source: &Value) -> Option<Value> {
        let mut fields = Map::new();
        for (path, field, generator) in &self.generators {
            let mut document = TantivyDocument::default();
            for value in values_at(source, path) {
                if let Some(text) = value.as_str() {
                    document.add_text(*field, text);
                }
            }
            let snippet = generator.snippet_from_doc(&document);
            if snippet.highlighted().is_empty() {
                continue;
            }
            let fragment = snippet.fragment();
            let mut marked = String::new();
            let mut cursor = 0;
            for range in snippet.highlighted() {
                marked.push_str(&fragment[cursor..range.start]);
                marked.push_str(&self.pre_tag);
                marked.push_str(&fragment[range.clone()]);
                marked.push_str(&self.post_tag);
                cursor = range.end;
            }
            marked.push_str(&fragment[cursor..]);
            fields.insert(path.clone(), Value::Array(vec![Value::String(marked)]));
        }
        (!fields.is_empty()).then_some(Value::Object(fields))
    }
}
