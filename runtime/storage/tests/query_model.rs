//! Property test: the embedded engine's results for term, terms, range, exists, ids, prefix,
//! match and bool queries, and the order of sorted searches, equal those of a naive evaluator
//! written here, on random documents and queries.

use std::sync::OnceLock;

use palisade_storage::{
    BulkOperation, CollectionConfig, DocumentStore, EmbeddedEngine, EngineConfig, Refresh,
    SearchRequest, WriteOptions,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const INDEX: &str = "model";
const COLLECTION: &str = "docs";

/// A generated document: every field optional, `tags` multi-valued.
#[derive(Debug, Clone)]
struct Doc {
    kind: Option<&'static str>,
    count: Option<i64>,
    ratio: Option<f64>,
    flag: Option<bool>,
    tags: Vec<&'static str>,
    /// Words of a `text` field, written with mixed case and punctuation.
    title: Vec<&'static str>,
}

impl Doc {
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        if let Some(kind) = self.kind {
            map.insert("kind".into(), json!(kind));
        }
        if let Some(count) = self.count {
            map.insert("count".into(), json!(count));
        }
        if let Some(ratio) = self.ratio {
            map.insert("ratio".into(), json!(ratio));
        }
        if let Some(flag) = self.flag {
            map.insert("flag".into(), json!(flag));
        }
        if !self.tags.is_empty() {
            map.insert("tags".into(), json!(self.tags));
        }
        if !self.title.is_empty() {
            map.insert("title".into(), json!(self.title.join(", ")));
        }
        Value::Object(map)
    }

    /// Returns the values of a field, as comparable numbers or strings.
    fn values(&self, field: &str) -> Vec<Scalar> {
        match field {
            "kind" => self
                .kind
                .map(|k| Scalar::Text(k.into()))
                .into_iter()
                .collect(),
            "count" => self
                .count
                .map(|c| Scalar::Number(c as f64))
                .into_iter()
                .collect(),
            "ratio" => self.ratio.map(Scalar::Number).into_iter().collect(),
            "title" => self
                .title
                .iter()
                .map(|w| Scalar::Text(w.to_lowercase()))
                .collect(),
            "flag" => self.flag.map(Scalar::Flag).into_iter().collect(),
            "tags" => self
                .tags
                .iter()
                .map(|t| Scalar::Text((*t).into()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Scalar {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl Scalar {
    fn to_json(&self) -> Value {
        match self {
            Self::Text(text) => json!(text),
            Self::Number(number) if number.fract() == 0.0 => json!(*number as i64),
            Self::Number(number) => json!(number),
            Self::Flag(flag) => json!(flag),
        }
    }
}

#[derive(Debug, Clone)]
enum Model {
    MatchAll,
    Term(&'static str, Scalar),
    Terms(&'static str, Vec<Scalar>),
    Range {
        field: &'static str,
        lower: Option<(Scalar, bool)>,
        upper: Option<(Scalar, bool)>,
    },
    Exists(&'static str),
    Prefix(&'static str, &'static str),
    /// A `match` on the text field: any word, or every word with `and`.
    Match {
        words: Vec<&'static str>,
        and: bool,
    },
    Ids(Vec<usize>),
    Bool {
        must: Vec<Model>,
        filter: Vec<Model>,
        should: Vec<Model>,
        must_not: Vec<Model>,
        minimum: Option<usize>,
    },
}

impl Model {
    fn matches(&self, id: usize, doc: &Doc) -> bool {
        match self {
            Self::MatchAll => true,
            Self::Term(field, value) => doc.values(field).contains(value),
            Self::Terms(field, values) => doc.values(field).iter().any(|v| values.contains(v)),
            Self::Range {
                field,
                lower,
                upper,
            } => doc.values(field).iter().any(|value| {
                let above = lower
                    .as_ref()
                    .is_none_or(|(low, inclusive)| value > low || (*inclusive && value == low));
                let below = upper
                    .as_ref()
                    .is_none_or(|(high, inclusive)| value < high || (*inclusive && value == high));
                above && below
            }),
            Self::Exists(field) => !doc.values(field).is_empty(),
            Self::Prefix(field, prefix) => doc.values(field).iter().any(|value| match value {
                Scalar::Text(text) => text.starts_with(prefix),
                _ => false,
            }),
            Self::Match { words, and } => {
                let found = doc.values("title");
                let hit = |word: &&str| found.contains(&Scalar::Text(word.to_lowercase()));
                if *and {
                    !words.is_empty() && words.iter().all(hit)
                } else {
                    words.iter().any(hit)
                }
            }
            Self::Ids(ids) => ids.contains(&id),
            Self::Bool {
                must,
                filter,
                should,
                must_not,
                minimum,
            } => {
                let required = match minimum {
                    Some(minimum) => (*minimum).min(should.len()),
                    None if must.is_empty() && filter.is_empty() && !should.is_empty() => 1,
                    None => 0,
                };
                must.iter().chain(filter).all(|q| q.matches(id, doc))
                    && !must_not.iter().any(|q| q.matches(id, doc))
                    && should.iter().filter(|q| q.matches(id, doc)).count() >= required
            }
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::MatchAll => json!({"match_all": {}}),
            Self::Term(field, value) => json!({"term": {*field: value.to_json()}}),
            Self::Terms(field, values) => {
                json!({"terms": {*field: values.iter().map(Scalar::to_json).collect::<Vec<_>>()}})
            }
            Self::Range {
                field,
                lower,
                upper,
            } => {
                let mut bounds = Map::new();
                if let Some((value, inclusive)) = lower {
                    bounds.insert(
                        if *inclusive { "gte" } else { "gt" }.into(),
                        value.to_json(),
                    );
                }
                if let Some((value, inclusive)) = upper {
                    bounds.insert(
                        if *inclusive { "lte" } else { "lt" }.into(),
                        value.to_json(),
                    );
                }
                json!({"range": {*field: bounds}})
            }
            Self::Exists(field) => json!({"exists": {"field": field}}),
            Self::Prefix(field, prefix) => json!({"prefix": {*field: prefix}}),
            Self::Match { words, and } => {
                let operator = if *and { "and" } else { "or" };
                json!({"match": {"title": {"query": words.join(" "), "operator": operator}}})
            }
            Self::Ids(ids) => {
                json!({"ids": {"values": ids.iter().map(|i| format!("d{i}")).collect::<Vec<_>>()}})
            }
            Self::Bool {
                must,
                filter,
                should,
                must_not,
                minimum,
            } => {
                let list =
                    |queries: &Vec<Model>| queries.iter().map(Model::to_json).collect::<Vec<_>>();
                let mut body = json!({
                    "must": list(must), "filter": list(filter),
                    "should": list(should), "must_not": list(must_not)
                });
                if let Some(minimum) = minimum {
                    body["minimum_should_match"] = json!(minimum);
                }
                json!({"bool": body})
            }
        }
    }
}

fn doc_strategy() -> impl Strategy<Value = Doc> {
    (
        proptest::option::of(prop::sample::select(vec!["ant", "ape", "bee", "cat"])),
        proptest::option::of(-5_i64..5),
        proptest::option::of(prop::sample::select(vec![-1.5, 0.0, 0.5, 2.25])),
        proptest::option::of(any::<bool>()),
        prop::collection::vec(prop::sample::select(vec!["x", "y", "z"]), 0..3),
        prop::collection::vec(
            prop::sample::select(vec!["Alpha", "beta", "GAMMA", "delta"]),
            0..4,
        ),
    )
        .prop_map(|(kind, count, ratio, flag, tags, title)| Doc {
            kind,
            count,
            ratio,
            flag,
            tags,
            title,
        })
}

fn value_strategy(field: &'static str) -> BoxedStrategy<Scalar> {
    match field {
        "kind" => prop::sample::select(vec!["ant", "ape", "bee", "cow"])
            .prop_map(|k| Scalar::Text(k.into()))
            .boxed(),
        "tags" => prop::sample::select(vec!["x", "y", "w"])
            .prop_map(|t| Scalar::Text(t.into()))
            .boxed(),
        "count" => (-6_i64..6).prop_map(|c| Scalar::Number(c as f64)).boxed(),
        "ratio" => prop::sample::select(vec![-1.5, -1.0, 0.0, 0.5, 1.0, 2.25])
            .prop_map(Scalar::Number)
            .boxed(),
        _ => any::<bool>().prop_map(Scalar::Flag).boxed(),
    }
}

fn field_strategy() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["kind", "count", "ratio", "flag", "tags"])
}

fn leaf_strategy() -> BoxedStrategy<Model> {
    let term =
        field_strategy().prop_flat_map(|f| value_strategy(f).prop_map(move |v| Model::Term(f, v)));
    let terms = field_strategy().prop_flat_map(|f| {
        prop::collection::vec(value_strategy(f), 0..3).prop_map(move |v| Model::Terms(f, v))
    });
    let range = prop::sample::select(vec!["kind", "count", "ratio", "tags"]).prop_flat_map(|f| {
        let bound = proptest::option::of((value_strategy(f), any::<bool>()));
        (bound.clone(), bound).prop_map(move |(lower, upper)| Model::Range {
            field: f,
            lower,
            upper,
        })
    });
    let exists = prop::sample::select(vec![
        "kind", "count", "ratio", "flag", "tags", "title", "unmapped",
    ])
    .prop_map(Model::Exists);
    let ids = prop::collection::vec(0_usize..25, 0..4).prop_map(Model::Ids);
    let prefix = (
        prop::sample::select(vec!["kind", "tags"]),
        prop::sample::select(vec!["", "a", "an", "b", "x", "z"]),
    )
        .prop_map(|(field, prefix)| Model::Prefix(field, prefix));
    let words = prop::collection::vec(
        prop::sample::select(vec!["alpha", "Beta", "gamma", "omega"]),
        0..3,
    );
    let text_match = (words, any::<bool>()).prop_map(|(words, and)| Model::Match { words, and });
    prop_oneof![
        Just(Model::MatchAll),
        term,
        terms,
        range,
        exists,
        ids,
        prefix,
        text_match
    ]
    .boxed()
}

fn query_strategy() -> impl Strategy<Value = Model> {
    leaf_strategy().prop_recursive(3, 24, 4, |inner| {
        let list = prop::collection::vec(inner, 0..3);
        (
            list.clone(),
            list.clone(),
            list.clone(),
            list,
            proptest::option::of(0_usize..3),
        )
            .prop_map(|(must, filter, should, must_not, minimum)| Model::Bool {
                must,
                filter,
                should,
                must_not,
                minimum,
            })
    })
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    engine: EmbeddedEngine,
    _folder: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let folder = tempfile::tempdir().unwrap();
        let engine = EmbeddedEngine::open(EngineConfig::new(folder.path())).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            engine.create_index(INDEX).await.unwrap();
            let mappings = json!({"properties": {
                "kind": {"type": "keyword"}, "count": {"type": "long"}, "ratio": {"type": "double"},
                "flag": {"type": "boolean"}, "tags": {"type": "keyword"}, "title": {"type": "text"}
            }});
            let config = CollectionConfig {
                mappings: Some(mappings),
                settings: None,
            };
            engine
                .create_collection(INDEX, COLLECTION, config)
                .await
                .unwrap();
        });
        Harness {
            runtime,
            engine,
            _folder: folder,
        }
    })
}

fn engine_ids(harness: &Harness, query: &Value) -> Vec<String> {
    harness.runtime.block_on(async {
        let body = json!({"query": query});
        let request = SearchRequest {
            body,
            size: Some(100),
            ..SearchRequest::default()
        };
        let result = harness
            .engine
            .search(INDEX, COLLECTION, request)
            .await
            .unwrap();
        let mut ids: Vec<String> = result.hits.into_iter().map(|hit| hit.id).collect();
        ids.sort();
        ids
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(
        docs in prop::collection::vec(doc_strategy(), 0..25),
        queries in prop::collection::vec(query_strategy(), 1..8),
        sort in sort_strategy(),
    ) {
        let harness = harness();
        harness.runtime.block_on(async {
            harness.engine.truncate_collection(INDEX, COLLECTION).await.unwrap();
            // Two commits, so that searches and sorts span two segments.
            let half = docs.len() / 2;
            for range in [0..half, half..docs.len()] {
                let operations = range
                    .map(|i| BulkOperation::Create { id: Some(format!("d{i}")), source: docs[i].to_json() })
                    .collect();
                let options = WriteOptions { refresh: Refresh::WaitFor, retry_on_conflict: 0 };
                let results = harness.engine.bulk(INDEX, COLLECTION, operations, options).await.unwrap();
                assert!(results.iter().all(Result::is_ok));
            }
        });
        for query in &queries {
            let mut expected: Vec<String> = docs
                .iter()
                .enumerate()
                .filter(|(i, doc)| query.matches(*i, doc))
                .map(|(i, _)| format!("d{i}"))
                .collect();
            expected.sort();
            let json = query.to_json();
            prop_assert_eq!(engine_ids(harness, &json), expected, "query {}", json);
        }

        let (field, descending, missing_first) = sort;
        let mut expected: Vec<(usize, Option<Scalar>)> = docs
            .iter()
            .enumerate()
            .map(|(i, doc)| (i, sort_key(doc, field, descending)))
            .collect();
        expected.sort_by(|(left_id, left), (right_id, right)| {
            compare_sort_keys(left, right, descending, missing_first)
                .then_with(|| format!("d{left_id}").cmp(&format!("d{right_id}")))
        });
        let expected: Vec<String> = expected.into_iter().map(|(i, _)| format!("d{i}")).collect();
        let order = if descending { "desc" } else { "asc" };
        let missing = if missing_first { "_first" } else { "_last" };
        let body = json!({"sort": [{field: {"order": order, "missing": missing}}, {"_id": "asc"}], "size": 100});
        prop_assert_eq!(sorted_ids(harness, body.clone()), expected, "body {}", body);
    }
}

fn sort_strategy() -> impl Strategy<Value = (&'static str, bool, bool)> {
    (
        prop::sample::select(vec!["kind", "count", "ratio", "flag", "tags"]),
        any::<bool>(),
        any::<bool>(),
    )
}

/// Returns the value a document sorts on: its smallest ascending, its largest descending.
fn sort_key(doc: &Doc, field: &str, descending: bool) -> Option<Scalar> {
    let values = doc.values(field).into_iter().map(|value| match value {
        Scalar::Flag(flag) => Scalar::Number(if flag { 1.0 } else { 0.0 }),
        other => other,
    });
    let compare = |a: &Scalar, b: &Scalar| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal);
    if descending {
        values.max_by(compare)
    } else {
        values.min_by(compare)
    }
}

fn compare_sort_keys(
    left: &Option<Scalar>,
    right: &Option<Scalar>,
    descending: bool,
    missing_first: bool,
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (left, right) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => {
            if missing_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(_), None) => {
            if missing_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(a), Some(b)) => {
            let ordering = a.partial_cmp(b).unwrap_or(Ordering::Equal);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    }
}

fn sorted_ids(harness: &Harness, body: Value) -> Vec<String> {
    harness.runtime.block_on(async {
        let request = SearchRequest {
            body,
            ..SearchRequest::default()
        };
        let result = harness
            .engine
            .search(INDEX, COLLECTION, request)
            .await
            .unwrap();
        result.hits.into_iter().map(|hit| hit.id).collect()
    })
}
