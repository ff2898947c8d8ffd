//! Property tests: the indexed engine against a naive evaluator of the raw filters.
//!
//! The evaluator below reads the filter JSON directly, pushes `not` down itself and walks
//! dotted paths through nested objects. It shares no code with the engine's parser, normal
//! form or indexes, so a disagreement points at one of them.

use std::collections::BTreeMap;

use palisade_realtime::{EngineConfig, FilterEngine};
use proptest::prelude::*;
use serde_json::{Value, json};

const FIELDS: &[&str] = &["a", "b", "c.d", "c.e", "arr"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..3).prop_map(Value::from),
        Just(json!(1.5)),
        prop::sample::select(vec!["x", "y", "z"]).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        1 => prop::collection::vec(scalar(), 0..4).prop_map(Value::Array),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    (
        prop::option::of(field_value()),
        prop::option::of(field_value()),
        prop::option::of(prop_oneof![
            3 => (prop::option::of(field_value()), prop::option::of(field_value()))
                .prop_map(|(d, e)| {
                    let mut inner = serde_json::Map::new();
                    if let Some(d) = d { inner.insert("d".into(), d); }
                    if let Some(e) = e { inner.insert("e".into(), e); }
                    Value::Object(inner)
                }),
            1 => scalar(),
        ]),
        prop::option::of(prop::collection::vec(scalar(), 0..4)),
        prop::sample::select(vec!["1", "2", "3"]),
    )
        .prop_map(|(a, b, c, arr, id)| {
            let mut doc = serde_json::Map::new();
            if let Some(a) = a {
                doc.insert("a".into(), a);
            }
            if let Some(b) = b {
                doc.insert("b".into(), b);
            }
            if let Some(c) = c {
                doc.insert("c".into(), c);
            }
            if let Some(arr) = arr {
                doc.insert("arr".into(), Value::Array(arr));
            }
            doc.insert("_id".into(), Value::from(id));
            Value::Object(doc)
        })
}

fn field() -> impl Strategy<Value = String> {
    prop::sample::select(FIELDS).prop_map(str::to_owned)
}

fn leaf() -> impl Strategy<Value = Value> {
    let string = prop::sample::select(vec!["x", "y", "z"]);
    prop_oneof![
        (field(), scalar()).prop_map(|(f, v)| json!({"equals": {f: v}})),
        (field(), prop::collection::vec(string.clone(), 1..3))
            .prop_map(|(f, v)| json!({"in": {f: v}})),
        field().prop_map(|f| json!({"exists": f})),
        field().prop_map(|f| json!({"missing": f})),
        (field(), scalar()).prop_map(|(f, v)| json!({"exists": format!("{f}[{v}]")})),
        (field(), 0i64..3, prop::option::of(1i64..4)).prop_map(|(f, low, span)| match span {
            Some(span) => json!({"range": {f: {"gte": low, "lt": low + span}}}),
            None => json!({"range": {f: {"gt": low}}}),
        }),
        (
            field(),
            prop::sample::select(vec!["^x", "y$", "z", "^1", "ru"])
        )
            .prop_map(|(f, p)| json!({"regexp": {f: p}})),
        prop::collection::vec(prop::sample::select(vec!["1", "2"]), 1..3)
            .prop_map(|ids| json!({"ids": {"values": ids}})),
        Just(json!({"nothing": {}})),
    ]
}

fn filter() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"and": v})),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"or": v})),
            inner.clone().prop_map(|f| json!({"not": f})),
            (
                prop::collection::vec(inner.clone(), 0..2),
                prop::collection::vec(inner.clone(), 0..2),
                prop::collection::vec(inner, 0..2),
            )
                .prop_filter_map("bool needs a clause", |(must, must_not, should)| {
                    let mut clauses = serde_json::Map::new();
                    if !must.is_empty() {
                        clauses.insert("must".into(), Value::Array(must));
                    }
                    if !must_not.is_empty() {
                        clauses.insert("must_not".into(), Value::Array(must_not));
                    }
                    if !should.is_empty() {
                        clauses.insert("should".into(), Value::Array(should));
                    }
                    (!clauses.is_empty()).then(|| json!({"bool": clauses}))
                }),
        ]
    })
}

/// Walks a dotted path through nested objects.
fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(doc, |value, key| value.as_object()?.get(key))
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => a == b,
    }
}

/// JavaScript's `String(value)` for the values the generators produce.
fn js_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                if i.is_null() {
                    String::new()
                } else {
                    js_string(i)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
        other => other.to_string(),
    }
}

fn only(map: &Value) -> (&String, &Value) {
    map.as_object().unwrap().iter().next().unwrap()
}

/// Evaluates `filter` on `doc`, or its negation when `negated`, the way Koncorde 4 does.
fn eval(filter: &Value, doc: &Value, negated: bool) -> bool {
    let (keyword, body) = only(filter);
    match keyword.as_str() {
        "and" | "or" => {
            let all = (keyword == "and") != negated;
            let mut results = body
                .as_array()
                .unwrap()
                .iter()
                .map(|f| eval(f, doc, negated));
            if all {
                results.all(|r| r)
            } else {
                results.any(|r| r)
            }
        }
        "not" => eval(body, doc, !negated),
        "bool" => {
            let list = |name: &str| body.get(name).and_then(Value::as_array).cloned();
            let mut parts: Vec<Value> = list("must").unwrap_or_default();
            if let Some(v) = list("must_not") {
                parts.push(json!({"not": {"or": v}}));
            }
            if let Some(v) = list("should") {
                parts.push(json!({"or": v}));
            }
            eval(&json!({"and": parts}), doc, negated)
        }
        "nothing" => negated,
        "in" => {
            let (f, values) = only(body);
            let any = values
                .as_array()
                .unwrap()
                .iter()
                .any(|v| get(doc, f).is_some_and(|d| same_scalar(d, v)));
            any != negated
        }
        "ids" => {
            let values = body["values"].as_array().unwrap();
            values.iter().any(|v| doc.get("_id") == Some(v)) != negated
        }
        "equals" => {
            let (f, v) = only(body);
            get(doc, f).is_some_and(|d| same_scalar(d, v)) != negated
        }
        "exists" | "missing" => {
            let spec = body.as_str().unwrap();
            let found = match spec.split_once('[') {
                Some((f, rest)) => {
                    let member: Value = serde_json::from_str(rest.trim_end_matches(']')).unwrap();
                    get(doc, f)
                        .and_then(Value::as_array)
                        .is_some_and(|items| items.iter().any(|i| same_scalar(i, &member)))
                }
                None => get(doc, spec).is_some(),
            };
            (found != (keyword == "missing")) != negated
        }
        "range" => {
            let (f, bounds) = only(body);
            let inside = get(doc, f).and_then(Value::as_f64).is_some_and(|n| {
                bounds.as_object().unwrap().iter().all(|(op, b)| {
                    let b = b.as_f64().unwrap();
                    match op.as_str() {
                        "gt" => n > b,
                        "gte" => n >= b,
                        "lt" => n < b,
                        _ => n <= b,
                    }
                })
            });
            inside != negated
        }
        "regexp" => {
            let (f, pattern) = only(body);
            let regex = regex::Regex::new(pattern.as_str().unwrap()).unwrap();
            match (get(doc, f), negated) {
                (Some(Value::String(s)), false) => regex.is_match(s),
                (_, false) => false,
                (None, true) => true,
                (Some(value), true) => !regex.is_match(&js_string(value)),
            }
        }
        other => panic!("generator produced `{other}`"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn engine_agrees_with_naive_evaluator(
        filters in prop::collection::vec(filter(), 1..6),
        docs in prop::collection::vec(document(), 1..6),
        removed in prop::collection::vec(any::<bool>(), 6),
    ) {
        let mut engine = FilterEngine::new(EngineConfig::default());
        let ids: Vec<String> = filters
            .iter()
            .map(|f| engine.register("i", "c", f).unwrap())
            .collect();

        for doc in &docs {
            let id = doc["_id"].as_str();
            let mut expected: BTreeMap<&str, bool> = BTreeMap::new();
            for (filter, room) in filters.iter().zip(&ids) {
                let result = eval(filter, doc, false);
                if let Some(previous) = expected.insert(room, result) {
                    prop_assert_eq!(previous, result, "filters sharing room {} disagree on {}", room, doc);
                }
            }
            let expected: Vec<&str> = expected.into_iter().filter(|(_, m)| *m).map(|(r, _)| r).collect();
            prop_assert_eq!(engine.test("i", "c", doc, id), expected, "document {}", doc);
        }

        // Removing some filters must not disturb the others.
        let mut kept: BTreeMap<&str, &Value> = BTreeMap::new();
        for ((filter, room), remove) in filters.iter().zip(&ids).zip(&removed) {
            if *remove {
                engine.remove("i", "c", room);
                kept.remove(room.as_str());
            } else if engine.contains("i", "c", room) {
                kept.insert(room, filter);
            }
        }
        for doc in &docs {
            let expected: Vec<&str> = kept
                .iter()
                .filter(|(_, f)| eval(f, doc, false))
                .map(|(r, _)| *r)
                .collect();
            prop_assert_eq!(engine.test("i", "c", doc, doc["_id"].as_str()), expected);
        }
    }

    #[test]
    fn normalization_keeps_meaning(filter in filter(), docs in prop::collection::vec(document(), 1..8)) {
        let engine = FilterEngine::new(EngineConfig::default());
        let normalized = engine.normalize("i", "c", &filter).unwrap();
        for doc in &docs {
            let id = doc.get("_id");
            let flat = palisade_realtime::FlatDocument::new(doc, id);
            prop_assert_eq!(normalized.filter.test(&flat), eval(&filter, doc, false), "{} on {}", filter, doc);
        }
    }
}

/// Rewrites a filter into an equivalent one: reordered `and`/`or`, De Morgan under a double
/// `not`, `in` and `ids` as `or` of `equals`, `missing` as `not exists`, `bool` as `and`.
fn rewrite(filter: &Value, flip: &mut impl FnMut() -> bool) -> Value {
    let (keyword, body) = only(filter);
    match keyword.as_str() {
        "and" | "or" => {
            let mut children: Vec<Value> = body
                .as_array()
                .unwrap()
                .iter()
                .map(|c| rewrite(c, flip))
                .collect();
            children.reverse();
            if flip() {
                let other = if keyword == "and" { "or" } else { "and" };
                let negated: Vec<Value> = children.into_iter().map(|c| json!({"not": c})).collect();
                return json!({"not": {other: negated}});
            }
            json!({keyword: children})
        }
        "not" => json!({"not": rewrite(body, flip)}),
        "bool" => {
            let mut clause = |name: &str| -> Vec<Value> {
                let items = body
                    .get(name)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                items.iter().map(|c| rewrite(c, flip)).collect()
            };
            let mut parts = clause("must");
            let must_not = clause("must_not");
            if !must_not.is_empty() {
                parts.push(json!({"not": {"or": must_not}}));
            }
            let should = clause("should");
            if !should.is_empty() {
                parts.push(json!({"or": should}));
            }
            json!({"and": parts})
        }
        "in" => {
            let (field, values) = only(body);
            let ors: Vec<Value> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|v| json!({"equals": {field: v}}))
                .collect();
            json!({"or": ors})
        }
        "ids" => {
            let ors: Vec<Value> = body["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| json!({"equals": {"_id": v}}))
                .collect();
            json!({"or": ors})
        }
        "missing" => json!({"not": {"exists": {"field": body}}}),
        _ if flip() => json!({"not": {"not": filter}}),
        _ => filter.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn equivalent_rewrites_share_a_room(filter in filter(), flips in prop::collection::vec(any::<bool>(), 64)) {
        let mut next = flips.into_iter().cycle();
        let rewritten = rewrite(&filter, &mut || next.next().unwrap_or(false));
        let engine = FilterEngine::new(EngineConfig::default());
        let original = engine.normalize("i", "c", &filter).unwrap();
        let other = engine.normalize("i", "c", &rewritten).unwrap();
        prop_assert_eq!(&original.id, &other.id, "{} and {}", filter, rewritten);
    }

    #[test]
    fn case_split_shares_a_room(
        filter in filter(),
        split in leaf().prop_filter("`not regexp` is no complement", |l| l.get("regexp").is_none()),
    ) {
        // `f` is `(f and x) or (f and not x)` for any `x` whose negation is its complement.
        let cases = json!({"or": [
            {"and": [filter.clone(), split.clone()]},
            {"and": [filter.clone(), {"not": split}]}
        ]});
        let engine = FilterEngine::new(EngineConfig::default());
        let original = engine.normalize("i", "c", &filter).unwrap();
        let other = engine.normalize("i", "c", &cases).unwrap();
        prop_assert_eq!(&original.id, &other.id, "{} and {}", filter, cases);
    }
}
