//! Keyword semantics, checked through the indexed engine and the naive evaluator alike.

use serde_json::{Value, json};

use super::{Normalized, ParseOptions};
use crate::error::RealtimeError;
use crate::{EngineConfig, FilterEngine, FlatDocument};

const OPTIONS: ParseOptions = ParseOptions {
    max_conditions: 100,
    max_subfilters: 4096,
};

/// Returns whether the filter matches the document, after checking that the indexed engine
/// and the naive evaluator agree.
fn matches(filter: Value, document: Value) -> bool {
    let normalized = Normalized::from_filter(&filter, OPTIONS).unwrap();
    let id = document.get("_id").cloned();
    let naive = normalized.test(&FlatDocument::new(&document, id.as_ref()));

    let mut engine = FilterEngine::new(EngineConfig::default());
    let room = engine.register("i", "c", &filter).unwrap();
    let indexed = engine.test("i", "c", &document, id.as_ref().and_then(Value::as_str));
    assert_eq!(
        indexed == vec![room],
        naive,
        "indexed and naive differ on {filter} / {document}"
    );
    naive
}

fn error(filter: Value) -> String {
    match Normalized::from_filter(&filter, OPTIONS) {
        Ok(_) => panic!("{filter} should be rejected"),
        Err(error) => {
            assert_eq!(error.kuzzle_id(), "api.assert.koncorde_dsl_error");
            error.to_string()
        }
    }
}

fn room(filter: Value) -> String {
    let engine = FilterEngine::new(EngineConfig::default());
    engine.normalize("i", "c", &filter).unwrap().id
}

#[test]
fn empty_filter_matches_everything() {
    assert!(matches(json!({}), json!({})));
    assert!(matches(json!({}), json!({"a": 1})));
}

#[test]
fn equals_scalars_only() {
    assert!(matches(json!({"equals": {"a": 1}}), json!({"a": 1.0})));
    assert!(matches(json!({"equals": {"a": null}}), json!({"a": null})));
    assert!(!matches(json!({"equals": {"a": null}}), json!({})));
    assert!(!matches(json!({"equals": {"a": 1}}), json!({"a": [1]})));
    assert!(!matches(json!({"equals": {"a": "1"}}), json!({"a": 1})));
    assert!(matches(
        json!({"equals": {"a.b.c": true}}),
        json!({"a": {"b": {"c": true}}})
    ));
    assert!(error(json!({"equals": {"a": [1]}})).contains("equals.a"));
    assert!(error(json!({"equals": {"a": 1, "b": 2}})).contains("exactly 1"));
}

#[test]
fn not_equals_matches_absent_fields() {
    assert!(matches(json!({"not": {"equals": {"a": 1}}}), json!({})));
    assert!(matches(
        json!({"not": {"equals": {"a": 1}}}),
        json!({"a": 2})
    ));
    assert!(!matches(
        json!({"not": {"equals": {"a": 1}}}),
        json!({"a": 1})
    ));
}

#[test]
fn in_takes_strings() {
    let filter = json!({"in": {"a": ["x", "y"]}});
    assert!(matches(filter.clone(), json!({"a": "y"})));
    assert!(!matches(filter, json!({"a": "z"})));
    assert!(error(json!({"in": {"a": [1]}})).contains("strings"));
    assert!(error(json!({"in": {"a": []}})).contains("empty"));
}

#[test]
fn exists_and_missing() {
    assert!(matches(json!({"exists": "a"}), json!({"a": null})));
    assert!(matches(json!({"exists": "a.b"}), json!({"a": {"b": 0}})));
    assert!(!matches(json!({"exists": "a"}), json!({"b": 1})));
    assert!(matches(json!({"exists": {"field": "a"}}), json!({"a": 1})));
    assert!(matches(json!({"missing": "a"}), json!({"b": 1})));
    assert!(!matches(
        json!({"missing": {"field": "a"}}),
        json!({"a": 1})
    ));
    assert!(error(json!({"exists": ""})).contains("empty"));
}

#[test]
fn exists_array_member() {
    let filter = json!({"exists": "tags[\"red\"]"});
    assert!(matches(filter.clone(), json!({"tags": ["blue", "red"]})));
    assert!(!matches(filter.clone(), json!({"tags": "red"})));
    assert!(!matches(filter, json!({"tags": ["blue"]})));
    assert!(matches(json!({"exists": "n[1]"}), json!({"n": [1.0]})));
    assert!(!matches(json!({"exists": "n[1]"}), json!({"n": ["1"]})));
    assert!(matches(json!({"missing": "n[1]"}), json!({"n": 1})));
    assert!(matches(json!({"exists": "a\\[b\\]"}), json!({"a[b]": 1})));
    assert!(error(json!({"exists": "a[red]"})).contains("invalid array value"));
}

#[test]
fn range_numbers_only() {
    let filter = json!({"range": {"a": {"gte": 1, "lt": 3}}});
    assert!(matches(filter.clone(), json!({"a": 1})));
    assert!(matches(filter.clone(), json!({"a": 2.5})));
    assert!(!matches(filter.clone(), json!({"a": 3})));
    assert!(!matches(filter.clone(), json!({"a": "2"})));
    assert!(!matches(filter, json!({})));
    assert!(matches(
        json!({"not": {"range": {"a": {"gt": 1}}}}),
        json!({"a": "x"})
    ));
    assert!(matches(
        json!({"not": {"range": {"a": {"gt": 1}}}}),
        json!({})
    ));
    assert!(!matches(
        json!({"not": {"range": {"a": {"gt": 1}}}}),
        json!({"a": 2})
    ));
    assert!(error(json!({"range": {"a": {"gt": 3, "lt": 1}}})).contains("strictly less"));
    assert!(error(json!({"range": {"a": {"gt": 1, "gte": 1}}})).contains("one lower bound"));
    assert!(error(json!({"range": {"a": {"gt": "1"}}})).contains("range.a.gt"));
    assert!(error(json!({"range": {"a": {"near": 1}}})).contains("`near`"));
}

#[test]
fn regexp_forms_and_flags() {
    assert!(matches(
        json!({"regexp": {"a": "^ab+c$"}}),
        json!({"a": "abbc"})
    ));
    assert!(!matches(
        json!({"regexp": {"a": "^ab+c$"}}),
        json!({"a": "ABC"})
    ));
    let insensitive = json!({"regexp": {"a": {"value": "^abc$", "flags": "i"}}});
    assert!(matches(insensitive, json!({"a": "ABC"})));
    assert!(
        !matches(json!({"regexp": {"a": "\\d"}}), json!({"a": "٣"})),
        "\\d is ASCII"
    );
    assert!(!matches(json!({"regexp": {"a": "4"}}), json!({"a": 42})));
    assert!(matches(json!({"not": {"regexp": {"a": "x"}}}), json!({})));
    // Koncorde tests the string form of non-strings under `not`: "42" matches /^4/.
    assert!(!matches(
        json!({"not": {"regexp": {"a": "^4"}}}),
        json!({"a": 42})
    ));
    assert!(matches(
        json!({"not": {"regexp": {"a": "^5"}}}),
        json!({"a": 42})
    ));
    assert!(error(json!({"regexp": {"a": "["}})).contains("cannot compile"));
    assert!(error(json!({"regexp": {"a": "a(?=b)"}})).contains("cannot compile"));
    assert!(error(json!({"regexp": {"a": {"value": "a", "flags": "y"}}})).contains("`y`"));
    assert!(error(json!({"regexp": {"a": {"value": "a", "flags": "ii"}}})).contains("duplicate"));
}

#[test]
fn ids_test_document_id() {
    let filter = json!({"ids": {"values": ["a", "b"]}});
    assert!(matches(filter.clone(), json!({"_id": "b"})));
    assert!(!matches(filter, json!({"_id": "c"})));
    assert!(error(json!({"ids": {"values": [1]}})).contains("strings"));
    assert!(error(json!({"ids": {"list": ["a"]}})).contains("ids.values"));
}

#[test]
fn geo_bounding_box_notations() {
    let boxes = [
        json!({"top": 10, "left": 0, "bottom": 0, "right": 10}),
        json!({"top": "10", "left": "0", "bottom": "0", "right": "10"}),
        json!({"topLeft": [10, 0], "bottomRight": [0, 10]}),
        json!({"top_left": "10, 0", "bottom_right": {"lat": 0, "lon": 10}}),
        json!({"topLeft": {"lat_lon": [10, 0]}, "bottomRight": {"latLon": "0,10"}}),
    ];
    for bbox in boxes {
        let filter = json!({"geoBoundingBox": {"pos": bbox}});
        assert!(matches(filter.clone(), json!({"pos": [5, 5]})), "{filter}");
        assert!(matches(filter.clone(), json!({"pos": "5, 5"})), "{filter}");
        assert!(
            matches(filter.clone(), json!({"pos": {"lat": 5, "lon": 5}})),
            "{filter}"
        );
        assert!(
            matches(filter.clone(), json!({"pos": "s0gs3y0zh7w1"})),
            "{filter}"
        );
        assert!(!matches(filter, json!({"pos": [5, 15]})));
    }
    assert!(error(json!({"geoBoundingBox": {"pos": {"top": 1}}})).contains("bounding box"));
}

#[test]
fn geo_distance_units() {
    let filter = json!({"geoDistance": {"pos": [43.6, 3.9], "distance": "1km"}});
    assert!(matches(filter.clone(), json!({"pos": [43.605, 3.9]})));
    assert!(!matches(filter.clone(), json!({"pos": [43.62, 3.9]})));
    assert!(!matches(filter.clone(), json!({"pos": "nowhere"})));
    assert!(!matches(filter, json!({})));
    let feet = json!({"geoDistance": {"pos": {"lat": 43.6, "lon": 3.9}, "distance": "3281 ft"}});
    assert!(matches(feet, json!({"pos": [43.605, 3.9]})));
    let metres = json!({"geoDistance": {"pos": [43.6, 3.9], "distance": 1000}});
    assert!(matches(metres, json!({"pos": [43.605, 3.9]})));
    assert!(error(json!({"geoDistance": {"pos": [0, 0], "distance": "far"}})).contains("`far`"));
    assert!(error(json!({"geoDistance": {"pos": [0], "distance": "1m"}})).contains("geopoint"));
}

#[test]
fn not_geo_needs_a_point_or_nothing() {
    let filter = json!({"not": {"geoDistance": {"pos": [0, 0], "distance": "1km"}}});
    assert!(matches(filter.clone(), json!({})));
    assert!(matches(filter.clone(), json!({"pos": null})));
    assert!(matches(filter.clone(), json!({"pos": [1, 1]})));
    assert!(!matches(filter.clone(), json!({"pos": [0, 0]})));
    assert!(!matches(filter, json!({"pos": "not a point"})));
}

#[test]
fn geo_distance_range_excludes_inside() {
    let filter = json!({"geoDistanceRange": {"pos": "0, 0", "from": "1km", "to": "10km"}});
    assert!(!matches(filter.clone(), json!({"pos": [0, 0]})));
    assert!(matches(filter.clone(), json!({"pos": [0.05, 0]})));
    assert!(!matches(filter, json!({"pos": [0.5, 0]})));
    let reversed = json!({"geoDistanceRange": {"pos": [0, 0], "from": "10km", "to": "1km"}});
    assert!(error(reversed).contains("smaller"));
}

#[test]
fn geo_polygon_points() {
    let filter = json!({"geoPolygon": {"pos": {"points": [[0, 0], "0, 10", {"lat": 10, "lon": 10}, [10, 0]]}}});
    assert!(matches(filter.clone(), json!({"pos": [5, 5]})));
    assert!(!matches(filter, json!({"pos": [5, 11]})));
    assert!(
        error(json!({"geoPolygon": {"pos": {"points": [[0, 0], [1, 1]]}}})).contains("3 points")
    );
}

#[test]
fn match_partial_objects_and_arrays() {
    let filter = json!({"match": {"a": {"b": 1}, "tags": ["x", "y"]}});
    assert!(matches(
        filter.clone(),
        json!({"a": {"b": 1, "c": 2}, "tags": ["y", "z", "x"]})
    ));
    assert!(!matches(
        filter.clone(),
        json!({"a": {"b": 1}, "tags": ["x"]})
    ));
    assert!(!matches(filter, json!({"a": {"b": 2}, "tags": ["x", "y"]})));
    assert!(matches(
        json!({"match": {"a.b": 1}}),
        json!({"a": {"b": 1}})
    ));
    assert!(matches(
        json!({"not": {"match": {"a": 1}}}),
        json!({"a": 2})
    ));
}

#[test]
fn select_array_element() {
    let last = json!({"select": {"field": "a", "index": -1, "query": {"equals": {"value": 3}}}});
    assert!(matches(last.clone(), json!({"a": [1, 2, 3]})));
    assert!(!matches(last.clone(), json!({"a": [3, 2]})));
    assert!(!matches(last, json!({"a": 3})));
    let first =
        json!({"select": {"field": "a", "index": 0, "query": {"range": {"value.n": {"gt": 1}}}}});
    assert!(matches(first, json!({"a": [{"n": 2}]})));
    let bad = json!({"select": {"field": "a", "index": 0.5, "query": {"exists": "value"}}});
    assert!(error(bad).contains("integer"));
}

#[test]
fn nothing_and_boolean_operators() {
    assert!(!matches(json!({"nothing": {}}), json!({"a": 1})));
    assert!(matches(json!({"not": {"nothing": {}}}), json!({})));
    let and = json!({"and": [{"equals": {"a": 1}}, {"exists": "b"}]});
    assert!(matches(and.clone(), json!({"a": 1, "b": 0})));
    assert!(!matches(and, json!({"a": 1})));
    let or = json!({"or": [{"equals": {"a": 1}}, {"exists": "b"}]});
    assert!(matches(or.clone(), json!({"b": 0})));
    assert!(!matches(or, json!({"a": 2})));
    assert!(error(json!({"and": []})).contains("empty"));
    assert!(error(json!({"or": [{}]})).contains("non-empty objects"));
    assert!(error(json!({"not": {}})).contains("exactly 1"));
}

#[test]
fn bool_clauses() {
    let filter = json!({"bool": {
        "must": [{"equals": {"a": 1}}],
        "must_not": [{"equals": {"b": 1}}],
        "should": [{"equals": {"c": 1}}, {"equals": {"c": 2}}],
        "should_not": [{"equals": {"d": 1}}, {"equals": {"e": 1}}],
    }});
    assert!(matches(filter.clone(), json!({"a": 1, "c": 2, "d": 1})));
    assert!(!matches(
        filter.clone(),
        json!({"a": 1, "c": 2, "d": 1, "e": 1})
    ));
    assert!(!matches(filter.clone(), json!({"a": 1, "b": 1, "c": 2})));
    assert!(!matches(filter, json!({"a": 1})));
    assert!(error(json!({"bool": {"filter": []}})).contains("`filter`"));
    assert!(matches(
        json!({"bool": {"must": {"exists": "a"}}}),
        json!({"a": 1})
    ));
    assert!(error(json!({"bool": {"should": {"exists": "a"}}})).contains("bool.should"));
    assert!(error(json!({"bool": {}})).contains("non-empty"));
}

#[test]
fn unknown_keyword_is_named() {
    let message = error(json!({"term": {"a": 1}}));
    assert!(message.contains("`term`"), "{message}");
    assert!(error(json!({"equals": {"a": 1}, "exists": "b"})).contains("exactly one keyword"));
    assert!(error(json!([1])).contains("object"));
}

#[test]
fn condition_limit() {
    let filter = json!({"in": {"a": ["1", "2", "3"]}});
    let options = ParseOptions {
        max_conditions: 2,
        max_subfilters: 10,
    };
    let error = Normalized::from_filter(&filter, options).unwrap_err();
    assert_eq!(error, RealtimeError::TooManyConditions { count: 3, max: 2 });
    let unlimited = ParseOptions {
        max_conditions: 0,
        ..options
    };
    assert!(Normalized::from_filter(&filter, unlimited).is_ok());
}

#[test]
fn subfilter_limit() {
    let or = |f: &str| json!({"or": [{"exists": format!("{f}1")}, {"exists": format!("{f}2")}]});
    let filter = json!({"and": [or("a"), or("b"), or("c"), or("d")]});
    let options = ParseOptions {
        max_conditions: 100,
        max_subfilters: 8,
    };
    let error = Normalized::from_filter(&filter, options).unwrap_err();
    assert_eq!(error, RealtimeError::TooManySubfilters { max: 8 });
}

#[test]
fn documented_equivalence_shares_a_room() {
    let a = json!({"and": [{"not": {"in": {"f": ["foo", "bar"]}}}, {"missing": "g"}]});
    let b = json!({"not": {"or": [
        {"or": [{"equals": {"f": "foo"}}, {"equals": {"f": "bar"}}]},
        {"exists": "g"}
    ]}});
    assert_eq!(room(a), room(b));
}

#[test]
fn equivalent_rewrites_share_a_room() {
    let pairs = [
        (
            json!({"and": [{"equals": {"a": 1}}, {"equals": {"b": 2}}]}),
            json!({"and": [{"equals": {"b": 2}}, {"equals": {"a": 1.0}}]}),
        ),
        (
            json!({"or": [{"equals": {"a": 1}}, {"and": [{"equals": {"a": 1}}, {"exists": "b"}]}]}),
            json!({"equals": {"a": 1}}),
        ),
        (
            json!({"or": [{"and": [{"exists": "a"}, {"exists": "b"}]}, {"and": [{"exists": "a"}, {"missing": "b"}]}]}),
            json!({"exists": "a"}),
        ),
        (
            json!({"and": [{"range": {"a": {"gt": 1}}}, {"range": {"a": {"lte": 5}}}]}),
            json!({"range": {"a": {"lte": 5, "gt": 1}}}),
        ),
        (json!({"in": {"a": ["x"]}}), json!({"equals": {"a": "x"}})),
        (
            json!({"ids": {"values": ["x"]}}),
            json!({"equals": {"_id": "x"}}),
        ),
        (
            json!({"missing": "a"}),
            json!({"not": {"exists": {"field": "a"}}}),
        ),
        (
            json!({"bool": {"must": [{"exists": "a"}]}}),
            json!({"exists": "a"}),
        ),
        (
            json!({"and": [{"equals": {"a": 1}}, {"equals": {"a": 2}}]}),
            json!({"nothing": {}}),
        ),
        (
            json!({"and": [{"equals": {"a": 1}}, {"not": {"equals": {"a": 2}}}]}),
            json!({"equals": {"a": 1}}),
        ),
        (json!({"not": {"nothing": {}}}), json!({})),
        (
            json!({"geoDistance": {"pos": "43.6, 3.9", "distance": "1km"}}),
            json!({"geoDistance": {"pos": {"lat": 43.6, "lon": 3.9}, "distance": "1000 m"}}),
        ),
        (
            json!({"regexp": {"a": "x"}}),
            json!({"regexp": {"a": {"value": "x", "flags": "u"}}}),
        ),
    ];
    for (a, b) in pairs {
        assert_eq!(
            room(a.clone()),
            room(b.clone()),
            "{a} and {b} should share a room"
        );
    }
}

#[test]
fn different_filters_get_different_rooms() {
    assert_ne!(
        room(json!({"equals": {"a": 1}})),
        room(json!({"equals": {"a": 2}}))
    );
    assert_ne!(room(json!({"exists": "a"})), room(json!({"missing": "a"})));
    let engine = FilterEngine::new(EngineConfig::default());
    let filter = json!({"exists": "a"});
    let same_collection = engine.normalize("i", "c", &filter).unwrap().id;
    let other_collection = engine.normalize("i", "d", &filter).unwrap().id;
    assert_ne!(
        same_collection, other_collection,
        "the collection is part of the room id"
    );
}

#[test]
fn normal_form_size_is_bounded() {
    // `and` of 50 independent `or`s has 2^50 subfilters: rejected before expanding them.
    let independent: Vec<Value> = (0..50)
        .map(|i| json!({"or": [{"exists": format!("x{i}")}, {"exists": format!("y{i}")}]}))
        .collect();
    let result = Normalized::from_filter(&json!({"and": independent}), OPTIONS);
    assert!(matches!(
        result,
        Err(RealtimeError::TooManySubfilters { .. })
    ));

    // A chain `(x_i or not x_i+1)` prunes contradictions while expanding and stays small.
    let chain: Vec<Value> = (0..50)
        .map(|i| {
            json!({"or": [
                {"exists": format!("x{i}")},
                {"missing": format!("x{}", i + 1)}
            ]})
        })
        .collect();
    let started = std::time::Instant::now();
    let normalized = Normalized::from_filter(&json!({"and": chain}), OPTIONS).unwrap();
    assert_eq!(normalized.subfilters().len(), 51);
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn extreme_coordinates_do_not_panic() {
    let filters = [
        json!({"geoDistance": {"pos": "Infinity, 0", "distance": "1km"}}),
        json!({"geoDistance": {"pos": [1e300, 1e300], "distance": 1e308}}),
        json!({"geoDistance": {"pos": [0, 0], "distance": format!("{}km", "9".repeat(400))}}),
        json!({"geoBoundingBox": {"pos": {"top": 1e308, "left": -1e308, "bottom": -1e308, "right": 1e308}}}),
        json!({"geoPolygon": {"pos": {"points": [[90, 0], [-90, 180], [0, 1e308]]}}}),
        json!({"geoDistanceRange": {"pos": [89.9999, 0], "from": "1m", "to": 1e20}}),
        json!({"range": {"n": {"gt": -1e308, "lt": 1e308}}}),
    ];
    let documents = [
        json!({"pos": "Infinity, -Infinity"}),
        json!({"pos": [1e308, -1e308]}),
        json!({"pos": [90, 180]}),
        json!({"pos": {"lat": 0, "lon": 0}}),
        json!({"n": 1e308}),
        json!({"n": -1e308}),
    ];
    let mut engine = FilterEngine::new(EngineConfig::default());
    for filter in &filters {
        // Either outcome is fine; the point is that nothing panics.
        let _ = engine.register("i", "c", filter);
    }
    assert!(error(filters[0].clone()).contains("geopoint"));
    assert!(error(filters[2].clone()).contains("invalid distance"));
    for document in &documents {
        let _ = engine.test("i", "c", document, None);
    }
}

#[test]
fn regexp_or_its_negation_can_both_fail() {
    // On the number 12, `regexp ^1` is false (not a string) and so is `not regexp ^1`
    // (Koncorde tests the string "12"), so this filter is not `{}`.
    let filter = json!({"or": [{"regexp": {"name": "^1"}}, {"not": {"regexp": {"name": "^1"}}}]});
    assert!(!matches(filter.clone(), json!({"name": 12})));
    assert!(matches(filter.clone(), json!({"name": "12"})));
    assert!(matches(filter.clone(), json!({})));
    assert_ne!(room(filter), room(json!({})));

    let geo = json!({"geoDistance": {"pos": [0, 0], "distance": "1km"}});
    let either = json!({"or": [geo.clone(), {"not": geo}]});
    assert!(!matches(either, json!({"pos": "not a point"})));
}
