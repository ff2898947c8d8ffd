//! Search execution: matching and scoring in tantivy, then sort, pagination, `_source`
//! filtering and highlight on the sources read from redb.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable};
use serde_json::{Map, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query as TantivyQuery;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::db::{self, DOCUMENTS, OrInternal};
use super::scroll::ScrollEntry;
use super::search_index::SearchIndex;
use super::sorting::{self, Keyed};
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
pub(super) const DEFAULT_SIZE: usize = 10;

/// A matching document with what sorting needs.
pub(super) struct Candidate {
    collection: Arc<Collection>,
    id: String,
    score: f32,
    version: u64,
    source: Value,
    sort: Vec<SortValue>,
}

impl Candidate {
    pub(super) fn score(&self) -> f32 {
        self.score
    }
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

        let query = self.translate(&collection, &mapping, &search, &body.query)?;
        let searcher = search.reader.searcher();
        let sorted = !body.sort.is_empty();
        let needs_all = sorted || body.search_after.is_some() || request.scroll.is_some();
        let (total, top) = count_and_top(&searcher, &*query, needs_all, from + size)?;
        let aggregations = match &body.aggregations {
            Some(request) => {
                let load = |id: &str| db::read_document(&self.db, &collection.key, id);
                Some(aggregation::run(
                    &searcher, &*query, request, &mapping, &load,
                )?)
            }
            None => None,
        };

        let page = if needs_all {
            // Sort keys come from fast fields, so only the page's sources are read from redb.
            let limit = (searcher.num_docs() as usize).max(1);
            let all = searcher
                .search(&*query, &TopDocs::with_limit(limit).order_by_score())
                .or_internal()?;
            let mut keyed = sorting::sort_keys(&searcher, all, &body.sort, &mapping)?;
            if sorted {
                keyed.sort_by(|left, right| compare_keys(&body.sort, &left.sort, &right.sort));
            }
            if let Some(after) = search_after_values(&body)? {
                keyed.retain(|item| compare_keys(&body.sort, &item.sort, &after).is_gt());
            }
            if let Some(ttl) = request.scroll {
                let entries = scroll_entries(&collection, &searcher, keyed, sorted)?;
                return self.start_scroll(entries, size, body.source, ttl);
            }
            let page: Vec<Keyed> = keyed.into_iter().skip(from).take(size).collect();
            self.load_keyed(&collection, &searcher, page)?
        } else {
            let candidates = self.load_hits(&collection, &searcher, top)?;
            candidates.into_iter().skip(from).take(size).collect()
        };
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
                to_hit(candidate, &body.source, highlight, sorted)
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

    pub(super) fn check_window(
        &self,
        from: usize,
        size: usize,
        scroll: Option<Duration>,
    ) -> Result<()> {
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
    pub(super) fn translate(
        &self,
        collection: &Collection,
        mapping: &Mapping,
        search: &SearchIndex,
        query: &Query,
    ) -> Result<Box<dyn TantivyQuery>> {
        let resolve = |clause: &Query, prefilter: Option<Box<dyn TantivyQuery>>| {
            let mut ids = Vec::new();
            let mut check = |id: &str, source: &Value| -> Result<()> {
                if eval::matches(clause, mapping, id, source)? {
                    ids.push(id.to_owned());
                }
                Ok(())
            };
            let Some(prefilter) = prefilter else {
                // TODO(perf): nested clauses scan every stored document of the collection.
                db::scan_documents(&self.db, &collection.key, |id, _, source| {
                    check(id, &source)
                })?;
                return Ok(ids);
            };
            // Writes not yet refreshed are missed, as by every other clause.
            let searcher = search.reader.searcher();
            let limit = (searcher.num_docs() as usize).max(1);
            let hits = searcher
                .search(&*prefilter, &TopDocs::with_limit(limit).order_by_score())
                .or_internal()?;
            let addresses: Vec<DocAddress> = hits.into_iter().map(|(_, address)| address).collect();
            for id in sorting::document_ids(&searcher, &addresses)? {
                if let Some((_, source)) = db::read_document(&self.db, &collection.key, &id)? {
                    check(&id, &source)?;
                }
            }
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
        let addresses: Vec<DocAddress> = hits.into_iter().map(|(_, address)| address).collect();
        sorting::document_ids(&searcher, &addresses)
    }

    pub fn count(&self, index: &str, name: &str, query: &Value) -> Result<u64> {
        let query = parse_query(query)?;
        let collection = self.collection(index, name)?;
        let (mapping, search) = collection.snapshot();
        let query = self.translate(&collection, &mapping, &search, &query)?;
        let searcher = search.reader.searcher();
        Ok(searcher.search(&*query, &Count).or_internal()? as u64)
    }

    /// Reads the best `limit` matches by score, with their ids and sources.
    pub(super) fn load_candidates(
        &self,
        collection: &Arc<Collection>,
        searcher: &Searcher,
        query: &dyn TantivyQuery,
        limit: usize,
    ) -> Result<Vec<Candidate>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let top = TopDocs::with_limit(limit).order_by_score();
        let hits = searcher.search(query, &top).or_internal()?;
        self.load_hits(collection, searcher, hits)
    }

    /// Reads the ids and sources of hits in score order.
    fn load_hits(
        &self,
        collection: &Arc<Collection>,
        searcher: &Searcher,
        hits: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<Candidate>> {
        let keyed = hits
            .into_iter()
            .map(|(score, address)| Keyed {
                address,
                score,
                sort: Vec::new(),
            })
            .collect();
        self.load_keyed(collection, searcher, keyed)
    }

    /// Keeps the ordered hits of a search for `scroll` calls and returns the first page.
    pub(super) fn start_scroll(
        &self,
        entries: Vec<ScrollEntry>,
        size: usize,
        source: SourceFilter,
        ttl: Duration,
    ) -> Result<SearchResult> {
        let scroll_id = self.scrolls.register(entries, size, source, ttl);
        self.scroll(&scroll_id, None)
    }

    /// Reads the ids and sources of a page of sorted matches.
    fn load_keyed(
        &self,
        collection: &Arc<Collection>,
        searcher: &Searcher,
        page: Vec<Keyed>,
    ) -> Result<Vec<Candidate>> {
        let addresses: Vec<DocAddress> = page.iter().map(|item| item.address).collect();
        let ids = sorting::document_ids(searcher, &addresses)?;
        let txn = self.db.begin_read().or_internal()?;
        let documents = txn.open_table(DOCUMENTS).or_internal()?;
        let mut candidates = Vec::with_capacity(page.len());
        for (item, id) in page.into_iter().zip(ids) {
            // Deleted since the last refresh: left out, as a real-time get would not find it.
            let Some(bytes) = documents
                .get((collection.key.as_str(), id.as_str()))
                .or_internal()?
            else {
                continue;
            };
            let (version, source) = db::decode_document(bytes.value())?;
            candidates.push(Candidate {
                collection: collection.clone(),
                id,
                score: item.score,
                version,
                source,
                sort: item.sort,
            });
        }
        Ok(candidates)
    }

    pub fn scroll(&self, scroll_id: &str, ttl: Option<Duration>) -> Result<SearchResult> {
        if let Some(ttl) = ttl {
            self.check_window(0, 0, Some(ttl))?;
        }
        let page = self.scrolls.next_page(scroll_id, ttl)?;
        let mut hits = Vec::with_capacity(page.entries.len());
        for entry in page.entries {
            let key = db::collection_key(&entry.index, &entry.collection);
            let Some((version, source)) = db::read_document(&self.db, &key, &entry.id)? else {
                continue;
            };
            hits.push(Hit {
                index: entry.index,
                collection: entry.collection,
                id: entry.id,
                score: entry.score,
                source: page.source.apply_owned(source),
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

/// Computes the sort values of candidates from one collection, with its mapping.
pub(super) fn fill_sort_values(
    candidates: &mut [Candidate],
    sort: &[SortField],
    mapping: &Mapping,
) {
    for candidate in candidates.iter_mut() {
        candidate.sort = sort
            .iter()
            .map(|field| field.value_of(mapping, &candidate.id, candidate.score, &candidate.source))
            .collect();
    }
}

/// Orders candidates by their sort values; without `sort`, the score order is kept.
pub(super) fn sort_candidates(candidates: &mut [Candidate], sort: &[SortField]) {
    if !sort.is_empty() {
        candidates.sort_by(|left, right| compare_keys(sort, &left.sort, &right.sort));
    }
}

/// Returns the `search_after` values of a body, which need a `sort`.
fn search_after_values(body: &SearchBody) -> Result<Option<Vec<SortValue>>> {
    let Some(after) = &body.search_after else {
        return Ok(None);
    };
    if body.sort.is_empty() {
        return Err(StorageError::query("`search_after` requires `sort`"));
    }
    Ok(Some(after.iter().map(SortValue::from_json).collect()))
}

/// Builds the scroll entries of sorted matches, ids read from the `_id` fast field.
fn scroll_entries(
    collection: &Collection,
    searcher: &Searcher,
    keyed: Vec<Keyed>,
    sorted: bool,
) -> Result<Vec<ScrollEntry>> {
    let addresses: Vec<DocAddress> = keyed.iter().map(|item| item.address).collect();
    let ids = sorting::document_ids(searcher, &addresses)?;
    let entries = keyed
        .into_iter()
        .zip(ids)
        .map(|(item, id)| ScrollEntry {
            index: collection.index.clone(),
            collection: collection.name.clone(),
            id,
            score: item.score,
            sort: sorted.then(|| item.sort.iter().map(SortValue::to_json).collect()),
        })
        .collect();
    Ok(entries)
}

/// Builds the scroll entries of loaded candidates.
pub(super) fn candidate_entries(candidates: &[Candidate], sorted: bool) -> Vec<ScrollEntry> {
    candidates
        .iter()
        .map(|candidate| ScrollEntry {
            index: candidate.collection.index.clone(),
            collection: candidate.collection.name.clone(),
            id: candidate.id.clone(),
            score: candidate.score,
            sort: sorted.then(|| candidate.sort.iter().map(SortValue::to_json).collect()),
        })
        .collect()
}

/// Keeps the candidates after the `search_after` values, which need a `sort`.
pub(super) fn apply_search_after(candidates: &mut Vec<Candidate>, body: &SearchBody) -> Result<()> {
    let Some(after) = search_after_values(body)? else {
        return Ok(());
    };
    candidates.retain(|candidate| compare_keys(&body.sort, &candidate.sort, &after).is_gt());
    Ok(())
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

pub(super) fn to_hit(
    candidate: Candidate,
    filter: &SourceFilter,
    highlight: Option<Value>,
    sorted: bool,
) -> Hit {
    Hit {
        index: candidate.collection.index.clone(),
        collection: candidate.collection.name.clone(),
        id: candidate.id,
        score: candidate.score,
        source: filter.apply_owned(candidate.source),
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

/// Counts the matches and, unless the page needs every match, collects the best `limit` hits by
/// score in the same pass.
fn count_and_top(
    searcher: &Searcher,
    query: &dyn TantivyQuery,
    needs_all: bool,
    limit: usize,
) -> Result<(u64, Vec<(f32, DocAddress)>)> {
    if needs_all || limit == 0 {
        let total = searcher.search(query, &Count).or_internal()?;
        return Ok((total as u64, Vec::new()));
    }
    let collector = (Count, TopDocs::with_limit(limit).order_by_score());
    let (total, hits) = searcher.search(query, &collector).or_internal()?;
    Ok((total as u64, hits))
}
