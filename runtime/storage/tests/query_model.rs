//! Property test: the embedded engine's results for term, terms, range, exists, ids and bool
//! queries equal those of a naive evaluator written here, on random documents and queries.

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
        proptest::option::of(prop::sample::select(vec!["a", "b", "c", "d"])),
        proptest::option::of(-5_i64..5),
        proptest::option::of(prop::sample::select(vec![-1.5, 0.0, 0.5, 2.25])),
        proptest::option::of(any::<bool>()),
        prop::collection::vec(prop::sample::select(vec!["x", "y", "z"]), 0..3),
    )
        .prop_map(|(kind, count, ratio, flag, tags)| Doc {
            kind,
            count,
            ratio,
            flag,
            tags,
        })
}

fn value_strategy(field: &'static str) -> BoxedStrategy<Scalar> {
    match field {
        "kind" => prop::sample::select(vec!["a", "b", "c", "e"])
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
    let exists = prop::sample::select(vec!["kind", "count", "ratio", "flag", "tags", "unmapped"])
        .prop_map(Model::Exists);
    let ids = prop::collection::vec(0_usize..25, 0..4).prop_map(Model::Ids);
    prop_oneof![Just(Model::MatchAll), term, terms, range, exists, ids].boxed()
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
                "flag": {"type": "boolean"}, "tags": {"type": "keyword"}
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
    fn engine_matches_model(docs in prop::collection::vec(doc_strategy(), 0..25), queries in prop::collection::vec(query_strategy(), 1..8)) {
        let harness = harness();
        harness.runtime.block_on(async {
            harness.engine.truncate_collection(INDEX, COLLECTION).await.unwrap();
            let operations = docs
                .iter()
                .enumerate()
                .map(|(i, doc)| BulkOperation::Create { id: Some(format!("d{i}")), source: doc.to_json() })
                .collect();
            let options = WriteOptions { refresh: Refresh::WaitFor, retry_on_conflict: 0 };
            let results = harness.engine.bulk(INDEX, COLLECTION, operations, options).await.unwrap();
            assert!(results.iter().all(Result::is_ok));
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
    }
}
