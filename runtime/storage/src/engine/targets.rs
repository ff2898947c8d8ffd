//! Searches over several collections at once (Kuzzle's `targets`).

use std::cmp::Ordering;

use tantivy::collector::Count;

use super::Inner;
use super::db::OrInternal;
use super::search::{
    DEFAULT_SIZE, apply_search_after, candidate_entries, fill_sort_values, sort_candidates, to_hit,
};
use crate::error::{Result, StorageError};
use crate::query::SearchBody;
use crate::store::{SearchRequest, SearchResult};

impl Inner {
    /// Runs one search body on each collection and merges the hits: by the `sort` values, or
    /// by score without `sort`.
    ///
    /// Scores come from each collection's own statistics, as across Elasticsearch indexes.
    pub fn search_targets(
        &self,
        targets: &[(String, String)],
        request: SearchRequest,
    ) -> Result<SearchResult> {
        let body = SearchBody::parse(&request.body)?;
        if body.aggregations.is_some() {
            return Err(StorageError::unsupported(
                "aggregations on several collections",
            ));
        }
        if body.highlight.is_some() {
            return Err(StorageError::unsupported(
                "highlight on several collections",
            ));
        }
        let from = request.from.or(body.from).unwrap_or(0);
        let size = request.size.or(body.size).unwrap_or(DEFAULT_SIZE);
        self.check_window(from, size, request.scroll)?;

        let mut candidates = Vec::new();
        let mut total = 0;
        for (index, name) in targets {
            let collection = self.collection(index, name)?;
            let (mapping, search) = collection.snapshot();
            for field in &body.sort {
                field.check(&mapping)?;
            }
            let query = self.translate(&collection, &mapping, &search, &body.query)?;
            let searcher = search.reader.searcher();
            total += searcher.search(&*query, &Count).or_internal()? as u64;
            // TODO(perf): every match of every collection is read to merge the pages.
            let limit = searcher.num_docs() as usize;
            let mut found = self.load_candidates(&collection, &searcher, &*query, limit)?;
            fill_sort_values(&mut found, &body.sort, &mapping);
            candidates.extend(found);
        }

        if body.sort.is_empty() {
            candidates.sort_by(|left, right| {
                right
                    .score()
                    .partial_cmp(&left.score())
                    .unwrap_or(Ordering::Equal)
            });
        } else {
            sort_candidates(&mut candidates, &body.sort);
        }
        apply_search_after(&mut candidates, &body)?;
        let sorted = !body.sort.is_empty();
        if let Some(ttl) = request.scroll {
            let entries = candidate_entries(&candidates, sorted);
            return self.start_scroll(entries, size, body.source, ttl);
        }
        let hits = candidates
            .into_iter()
            .skip(from)
            .take(size)
            .map(|candidate| to_hit(candidate, &body.source, None, sorted))
            .collect();
        Ok(SearchResult {
            hits,
            total,
            aggregations: None,
            scroll_id: None,
            remaining: None,
        })
    }
}
