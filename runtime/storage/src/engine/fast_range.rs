//! Range query on a fast field whose scorer accepts a `seek_danger` target below its current
//! document.
//!
//! tantivy 0.27's fast-field range scorer computes `target - last_target` in `seek_danger`, to
//! size its next read, and so expects targets that never go back. A boolean query breaks that.
//! In a `bool` with the range as `must` and a `should` clause, tantivy aligns the range on its
//! first match with `seek_danger`. When that `bool` is a `must_not` clause, the exclusion then
//! calls `seek_danger` on it for each earlier document of the including scorer, and the
//! subtraction overflows: a panic in debug builds, a wrapped distance in release builds.
//! This wrapper returns the result of those calls from the current document and forwards only
//! targets above it, so the inner scorer never receives a target below its last one.

use std::ops::Bound;

use tantivy::query::{EnableScoring, Explanation, Query, RangeQuery, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, TERMINATED, Term};

/// A `RangeQuery` on a fast field, with a scorer that tolerates seeks below its document.
#[derive(Clone, Debug)]
pub(crate) struct FastFieldRangeQuery {
    inner: RangeQuery,
}

impl FastFieldRangeQuery {
    pub fn new(lower: Bound<Term>, upper: Bound<Term>) -> Self {
        Self {
            inner: RangeQuery::new(lower, upper),
        }
    }
}

impl Query for FastFieldRangeQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.inner.weight(enable_scoring)?;
        Ok(Box::new(OrderedSeekWeight { inner }))
    }
}

struct OrderedSeekWeight {
    inner: Box<dyn Weight>,
}

impl Weight for OrderedSeekWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.inner.scorer(reader, boost)?;
        Ok(Box::new(OrderedSeekScorer {
            inner,
            positioned: true,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

/// Forwards to the fast-field range scorer every call whose target is above its document.
struct OrderedSeekScorer {
    inner: Box<dyn Scorer>,
    /// Whether `inner.doc()` is valid, which is false after a `seek_danger` that did not find
    /// its target.
    positioned: bool,
}

impl DocSet for OrderedSeekScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.inner.doc();
        if target <= doc {
            return doc;
        }
        self.inner.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= TERMINATED {
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        if self.positioned {
            // A valid scorer's last target is at most its document, so only a target at or
            // below the document can be below the last target.
            let doc = self.inner.doc();
            if doc == target {
                return SeekDangerResult::Found;
            }
            if doc > target {
                return SeekDangerResult::SeekLowerBound(doc);
            }
        }
        let result = self.inner.seek_danger(target);
        self.positioned = result == SeekDangerResult::Found;
        result
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn cost(&self) -> u64 {
        self.inner.cost()
    }

    fn count_including_deleted(&mut self) -> u32 {
        self.inner.count_including_deleted()
    }
}

impl Scorer for OrderedSeekScorer {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{
        AllQuery, BooleanQuery, ConstScoreQuery, InvertedIndexRangeQuery, Occur, Query, TermQuery,
    };
    use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STRING, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument, Term};

    use super::FastFieldRangeQuery;

    /// Small xorshift generator, so a failing seed replays the same index and queries.
    struct Random(u64);

    impl Random {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    struct Fixture {
        index: Index,
        category: Field,
        count: Field,
    }

    /// Builds an index over `segments` commits, with zero to two `count` values per document
    /// and the documents of category `c4` deleted after odd commits.
    fn fixture(random: &mut Random, documents: u64, segments: u64) -> Fixture {
        let mut builder = Schema::builder();
        let category = builder.add_text_field("category", STRING);
        let count = builder.add_i64_field("count", INDEXED | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for segment in 0..segments {
            for _ in 0..documents / segments {
                let mut document = TantivyDocument::default();
                document.add_text(category, format!("c{}", random.below(5)));
                for _ in 0..random.below(3) {
                    document.add_i64(count, random.below(1000) as i64);
                }
                writer.add_document(document).unwrap();
            }
            if segment % 2 == 1 {
                writer.delete_term(Term::from_field_text(category, "c4"));
            }
            writer.commit().unwrap();
        }
        Fixture {
            index,
            category,
            count,
        }
    }

    /// Builds a random nested bool query. `fast` selects the range implementation, so two calls
    /// from the same generator state build the same query with either range.
    fn random_query(
        random: &mut Random,
        fixture: &Fixture,
        depth: u32,
        fast: bool,
    ) -> Box<dyn Query> {
        let kind = if depth == 0 {
            random.below(3)
        } else {
            random.below(5)
        };
        match kind {
            0 => {
                let term =
                    Term::from_field_text(fixture.category, &format!("c{}", random.below(5)));
                Box::new(TermQuery::new(term, IndexRecordOption::Basic))
            }
            1 | 2 => {
                let lower = random.below(1000) as i64;
                let upper = lower + random.below(400) as i64;
                let lower = Bound::Included(Term::from_field_i64(fixture.count, lower));
                let upper = Bound::Excluded(Term::from_field_i64(fixture.count, upper));
                let range: Box<dyn Query> = if fast {
                    Box::new(FastFieldRangeQuery::new(lower, upper))
                } else {
                    Box::new(InvertedIndexRangeQuery::new(lower, upper))
                };
                Box::new(ConstScoreQuery::new(range, 1.0))
            }
            _ => {
                let mut clauses = Vec::new();
                for _ in 0..1 + random.below(4) {
                    let occur = match random.below(4) {
                        0 => Occur::Should,
                        1 => Occur::MustNot,
                        _ => Occur::Must,
                    };
                    clauses.push((occur, random_query(random, fixture, depth - 1, fast)));
                }
                if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                let minimum = random.below(3) as usize;
                Box::new(BooleanQuery::with_minimum_required_clauses(
                    clauses, minimum,
                ))
            }
        }
    }

    /// Runs a query and returns its count and top 10, as the engine's search does.
    fn run(fixture: &Fixture, query: &dyn Query) -> (usize, Vec<(f32, tantivy::DocAddress)>) {
        let searcher = fixture.index.reader().unwrap().searcher();
        let collector = (Count, TopDocs::with_limit(10).order_by_score());
        searcher.search(query, &collector).unwrap()
    }

    #[test]
    fn fast_range_matches_inverted_index() {
        for seed in 1..40_u64 {
            let mut random = Random(seed.wrapping_mul(2_654_435_761));
            let documents = 200 + random.below(8_000);
            let segments = 1 + random.below(3);
            let fixture = fixture(&mut random, documents, segments);
            for round in 0..20 {
                let state = random.0;
                let fast = random_query(&mut random, &fixture, 3, true);
                let inverted = random_query(&mut Random(state), &fixture, 3, false);
                assert_eq!(
                    run(&fixture, &*fast),
                    run(&fixture, &*inverted),
                    "seed {seed}, round {round}: {fast:?}"
                );
            }
        }
    }

    #[test]
    fn range_must_inside_must_not() {
        let mut random = Random(7);
        let fixture = fixture(&mut random, 0, 1);
        let mut writer: IndexWriter = fixture
            .index
            .writer_with_num_threads(1, 15_000_000)
            .unwrap();
        for (category, value) in [("a", 1), ("a", 5), ("b", 7)] {
            let mut document = TantivyDocument::default();
            document.add_text(fixture.category, category);
            document.add_i64(fixture.count, value);
            writer.add_document(document).unwrap();
        }
        writer.commit().unwrap();

        // With a `should` clause next to it, the inner bool's scorer is aligned on document 1,
        // the range's first match, before the exclusion seeks it to document 0.
        let lower = Bound::Included(Term::from_field_i64(fixture.count, 5));
        let range = FastFieldRangeQuery::new(lower, Bound::Unbounded);
        let category_b = Term::from_field_text(fixture.category, "b");
        let inner = BooleanQuery::new(vec![
            (Occur::Must, Box::new(range) as Box<dyn Query>),
            (
                Occur::Should,
                Box::new(TermQuery::new(category_b, IndexRecordOption::Basic)),
            ),
        ]);
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery)),
            (Occur::MustNot, Box::new(inner)),
        ]);

        let (count, top) = run(&fixture, &query);
        assert_eq!(count, 1);
        assert_eq!(top[0].1.doc_id, 0);
    }
}
