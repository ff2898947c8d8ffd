//! Indexed matching of documents against stored filters.
//!
//! Filters are stored as subfilters, and subfilters as conditions. A subfilter is shared by
//! every filter whose normal form contains it, and a condition by every subfilter that uses it,
//! plainly or negated. Each is freed when its last user is removed. Matching a document looks its
//! fields up in per-field indexes, counts the plain conditions each subfilter has satisfied,
//! and marks the subfilters whose negated conditions are falsified. Only subfilters without a
//! plain condition are visited on every document.

mod collection_key;
mod index;
mod scratch;
mod short_key;
mod slab;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use foldhash::fast::RandomState;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use self::collection_key::{CollectionKey, CollectionRef};
use self::index::{ConditionId, FieldIndexes, Hit, Hits};
use self::scratch::{Scratch, with_scratch};
use self::slab::Slab;
use crate::error::Result;
use crate::filter::{Condition, Literal, Normalized, ParseOptions};
use crate::json::FlatDocument;

type SubfilterId = usize;

/// Ids of matched filters, borrowed from the engine. Most documents match few filters, so up
/// to four ids are stored inline without a heap allocation.
pub type MatchedIds<'a> = SmallVec<[&'a str; 4]>;

/// Hash maps keyed by field names, values and ids. They use foldhash because the standard
/// SipHash showed in profiles of matching, and foldhash's per-map random seed still spreads
/// keys that a client chose to collide.
type FastMap<K, V> = HashMap<K, V, RandomState>;

#[derive(Debug)]
struct ConditionEntry {
    condition: Arc<Condition>,
    /// Subfilters whose only plain condition is this one: a hit completes them. Most
    /// conditions have one, stored inline to save a memory access per hit.
    sole_users: SmallVec<[SubfilterId; 1]>,
    /// Subfilters with other plain conditions besides this one.
    plain_users: Vec<SubfilterId>,
    /// Subfilters that require the condition to be false.
    negated_users: Vec<SubfilterId>,
}

impl ConditionEntry {
    fn has_users(&self) -> bool {
        !(self.sole_users.is_empty()
            && self.plain_users.is_empty()
            && self.negated_users.is_empty())
    }
}

#[derive(Debug)]
struct SubfilterEntry {
    key: String,
    conditions: Vec<(ConditionId, bool)>,
    plain_count: usize,
    /// Ids of the filters using the subfilter, shared with `Engine::filters`. Most
    /// subfilters belong to one filter, whose id is stored inline.
    filters: SmallVec<[Arc<str>; 1]>,
}

/// Counts of stored objects, to check sharing and cleanup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    /// Stored filters.
    pub filters: usize,
    /// Distinct subfilters.
    pub subfilters: usize,
    /// Distinct conditions.
    pub conditions: usize,
}

/// The filters of one `index/collection` and their indexes.
#[derive(Debug, Default)]
pub struct Engine {
    filters: FastMap<Arc<str>, Vec<SubfilterId>>,
    subfilters: Slab<SubfilterEntry>,
    subfilter_ids: FastMap<String, SubfilterId>,
    conditions: Slab<ConditionEntry>,
    condition_ids: FastMap<String, ConditionId>,
    /// Subfilters with no plain condition: they match unless a negation is falsified.
    negation_only: HashSet<SubfilterId>,
    /// Filters stored as more than one subfilter. While there are none, no two matched
    /// subfilters belong to the same filter, so the matched ids need no deduplication.
    several_subfilters: usize,
    indexes: FieldIndexes,
}

fn subfilter_key(term: &[Literal]) -> String {
    let mut key = String::new();
    for literal in term {
        key.push(if literal.negated { '!' } else { '+' });
        key.push_str(literal.condition.key());
        key.push('\n');
    }
    key
}

impl Engine {
    /// Stores a filter under its room id. Returns false when the id is already stored.
    pub fn insert(&mut self, filter_id: &str, normalized: &Normalized) -> bool {
        if self.filters.contains_key(filter_id) {
            return false;
        }
        let filter_id: Arc<str> = Arc::from(filter_id);
        let mut subfilters = Vec::with_capacity(normalized.subfilters().len());
        for term in normalized.subfilters() {
            let id = self.insert_subfilter(term);
            self.subfilters[id].filters.push(Arc::clone(&filter_id));
            subfilters.push(id);
        }
        if subfilters.len() > 1 {
            self.several_subfilters += 1;
        }
        self.filters.insert(filter_id, subfilters);
        true
    }

    fn insert_subfilter(&mut self, term: &[Literal]) -> SubfilterId {
        let key = subfilter_key(term);
        if let Some(&id) = self.subfilter_ids.get(&key) {
            return id;
        }
        let plain_count = term.iter().filter(|l| !l.negated).count();
        let id = self.subfilters.insert(SubfilterEntry {
            key: key.clone(),
            conditions: Vec::with_capacity(term.len()),
            plain_count,
            filters: SmallVec::new(),
        });
        for literal in term {
            let condition = self.insert_condition(&literal.condition);
            let entry = &mut self.conditions[condition];
            if literal.negated {
                entry.negated_users.push(id);
            } else if plain_count == 1 {
                entry.sole_users.push(id);
            } else {
                entry.plain_users.push(id);
            }
            self.subfilters[id]
                .conditions
                .push((condition, literal.negated));
        }
        if self.subfilters[id].plain_count == 0 {
            self.negation_only.insert(id);
        }
        self.subfilter_ids.insert(key, id);
        id
    }

    fn insert_condition(&mut self, condition: &Arc<Condition>) -> ConditionId {
        if let Some(&id) = self.condition_ids.get(condition.key()) {
            return id;
        }
        let id = self.conditions.insert(ConditionEntry {
            condition: Arc::clone(condition),
            sole_users: SmallVec::new(),
            plain_users: Vec::new(),
            negated_users: Vec::new(),
        });
        self.indexes.insert(id, condition);
        self.condition_ids.insert(condition.key().to_owned(), id);
        id
    }

    /// Removes a filter and frees the subfilters and conditions no other filter uses.
    /// Returns false when the id is not stored.
    pub fn remove(&mut self, filter_id: &str) -> bool {
        let Some(subfilters) = self.filters.remove(filter_id) else {
            return false;
        };
        if subfilters.len() > 1 {
            self.several_subfilters -= 1;
        }
        for id in subfilters {
            let entry = &mut self.subfilters[id];
            entry.filters.retain(|f| **f != *filter_id);
            if entry.filters.is_empty() {
                self.remove_subfilter(id);
            }
        }
        true
    }

    fn remove_subfilter(&mut self, id: SubfilterId) {
        let entry = self.subfilters.remove(id).expect("subfilter is stored");
        self.subfilter_ids.remove(&entry.key);
        self.negation_only.remove(&id);
        for (condition_id, negated) in entry.conditions {
            let condition = &mut self.conditions[condition_id];
            if negated {
                condition.negated_users.retain(|user| *user != id);
            } else if entry.plain_count == 1 {
                condition.sole_users.retain(|user| *user != id);
            } else {
                condition.plain_users.retain(|user| *user != id);
            }
            if !condition.has_users() {
                let condition = self
                    .conditions
                    .remove(condition_id)
                    .expect("condition is stored");
                self.indexes.remove(condition_id, &condition.condition);
                self.condition_ids.remove(condition.condition.key());
            }
        }
    }

    /// Returns true when a filter is stored under this id.
    pub fn contains(&self, filter_id: &str) -> bool {
        self.filters.contains_key(filter_id)
    }

    /// Returns true when no filter is stored.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Returns the number of stored filters, subfilters and conditions.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            filters: self.filters.len(),
            subfilters: self.subfilters.len(),
            conditions: self.conditions.len(),
        }
    }

    /// Returns the ids of the filters that match a flattened document, each once, in no
    /// particular order.
    pub fn matches(&self, document: &FlatDocument<'_>) -> MatchedIds<'_> {
        let mut hits = Hits::new();
        for (field, value) in document.iter() {
            self.indexes.field_hits(field, value, &mut hits);
        }
        self.indexes.match_hits(document, &mut hits);
        self.collect_matches(&hits)
    }

    /// Returns the ids of the filters that match a document's source plus its `_id`, each
    /// once, in no particular order.
    ///
    /// Walks the source in place instead of building a flattened copy, except when `match`
    /// conditions need the whole flattened document, or when a key contains a dot and could
    /// collide with a nested path that a condition reads. Without an indexed field name that
    /// contains a dot, no path that contains one finds a condition, so such keys are harmless.
    pub fn matches_source(&self, source: &Value, id: Option<&Value>) -> MatchedIds<'_> {
        let needs_flat_document = self.indexes.has_match_conditions()
            || (self.indexes.has_dotted_fields() && has_dotted_key(source));
        if needs_flat_document {
            return self.matches(&FlatDocument::new(source, id));
        }
        let mut hits = Hits::new();
        if let Value::Object(map) = source {
            let mut path = String::new();
            self.walk(map, &mut path, id.is_some(), &mut hits);
        }
        if let Some(id) = id {
            self.indexes.field_hits("_id", id, &mut hits);
        }
        self.collect_matches(&hits)
    }

    fn walk(&self, map: &Map<String, Value>, path: &mut String, skip_id: bool, hits: &mut Hits) {
        for (key, value) in map {
            if skip_id && path.is_empty() && key == "_id" {
                continue;
            }
            if path.is_empty() && !value.is_object() {
                // A top-level leaf is its own path, so flat documents never build one.
                self.indexes.field_hits(key, value, hits);
                continue;
            }
            let length = path.len();
            if length > 0 {
                path.push('.');
            }
            path.push_str(key);
            if let Value::Object(inner) = value {
                self.walk(inner, path, false, hits);
            }
            self.indexes.field_hits(path, value, hits);
            path.truncate(length);
        }
    }

    /// Returns the match of a document that hits one condition, when that condition completes
    /// one subfilter of one filter and nothing else can change the result. Most documents
    /// that match anything hit one single-condition subfilter, and this skips the lists and
    /// sorts of the general case for them.
    fn sole_match(&self, hits: &[Hit]) -> Option<MatchedIds<'_>> {
        let [hit] = hits else {
            return None;
        };
        if !self.negation_only.is_empty() || !hit.plain {
            return None;
        }
        let entry = &self.conditions[hit.condition];
        if !entry.plain_users.is_empty() || !entry.negated_users.is_empty() {
            return None;
        }
        let [subfilter] = entry.sole_users.as_slice() else {
            return None;
        };
        let [filter] = self.subfilters[*subfilter].filters.as_slice() else {
            return None;
        };
        let mut matched = MatchedIds::new();
        matched.push(&**filter);
        Some(matched)
    }

    fn collect_matches(&self, hits: &[Hit]) -> MatchedIds<'_> {
        if hits.is_empty() && self.negation_only.is_empty() {
            return MatchedIds::new();
        }
        if let Some(matched) = self.sole_match(hits) {
            return matched;
        }
        with_scratch(|scratch| self.collect_subfilters(hits, scratch))
    }

    fn collect_subfilters(&self, hits: &[Hit], scratch: &mut Scratch) -> MatchedIds<'_> {
        let Scratch {
            complete,
            satisfied,
            blocked,
        } = scratch;

        // A hit completes the subfilters it is the only plain condition of. The others are
        // listed once per satisfied plain condition, then sorted so that each run of one id
        // has the length of its satisfied count.
        for hit in hits {
            let entry = &self.conditions[hit.condition];
            if hit.plain {
                complete.extend_from_slice(&entry.sole_users);
                satisfied.extend_from_slice(&entry.plain_users);
            }
            if hit.blocks_negation {
                blocked.extend_from_slice(&entry.negated_users);
            }
        }
        if !satisfied.is_empty() {
            satisfied.sort_unstable();
            let counted = satisfied
                .chunk_by(|a, b| a == b)
                .filter(|run| run.len() == self.subfilters[run[0]].plain_count)
                .map(|run| run[0]);
            complete.extend(counted);
        }
        complete.extend(self.negation_only.iter().copied());

        if !blocked.is_empty() {
            blocked.sort_unstable();
            blocked.dedup();
            complete.retain(|id| blocked.binary_search(id).is_err());
        }
        self.filter_ids(complete)
    }

    /// Returns the ids of the filters of distinct subfilters, each once.
    fn filter_ids(&self, subfilters: &[SubfilterId]) -> MatchedIds<'_> {
        let mut matched = MatchedIds::with_capacity(subfilters.len());
        for id in subfilters {
            for filter in &self.subfilters[*id].filters {
                matched.push(&**filter);
            }
        }
        // Every subfilter of a filter shares one `Arc<str>`, so equal ids have equal addresses
        // and sorting by address finds the duplicates without comparing the strings.
        if self.several_subfilters > 0 {
            matched.sort_unstable_by_key(|id| id.as_ptr());
            matched.dedup_by_key(|id| id.as_ptr());
        }
        matched
    }
}

/// Settings of a [`FilterEngine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// HMAC key of room ids. Every node of a cluster must use the same seed.
    pub seed: Vec<u8>,
    /// Maximum leaf conditions per filter (Kuzzle's `limits.subscriptionConditionsCount`);
    /// 0 disables the check.
    pub max_conditions: usize,
    /// Maximum subfilters in one filter's normal form. The normal form of an `and` of `or`s
    /// grows as the product of their sizes, and this bounds memory and time per filter.
    pub max_subfilters: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            seed: vec![0; 32],
            max_conditions: 100,
            max_subfilters: 4096,
        }
    }
}

impl EngineConfig {
    fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            max_conditions: self.max_conditions,
            max_subfilters: self.max_subfilters,
        }
    }
}

/// A normalized filter bound to an index and collection, with its room id.
#[derive(Debug, Clone)]
pub struct NormalizedFilter {
    /// Room id: HMAC-SHA256 of the canonical form and `index/collection`.
    pub id: String,
    /// Index name.
    pub index: String,
    /// Collection name.
    pub collection: String,
    /// Canonical form.
    pub filter: Normalized,
}

/// Filters of every `index/collection`, one [`Engine`] each.
#[derive(Debug, Default)]
pub struct FilterEngine {
    config: EngineConfig,
    /// Engines by index and collection, found with one lookup.
    engines: hashbrown::HashMap<CollectionKey, Engine, RandomState>,
}

/// Returns true when an object key at any depth contains a dot.
fn has_dotted_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('.') || has_dotted_key(v)),
        _ => false,
    }
}

impl FilterEngine {
    /// Creates an engine with the given settings.
    pub fn new(config: EngineConfig) -> Self {
        Self {
            config,
            engines: hashbrown::HashMap::default(),
        }
    }

    /// Returns the settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Validates and normalizes a filter without storing it.
    ///
    /// # Errors
    ///
    /// Returns an error naming the bad keyword or value, or the exceeded limit.
    pub fn normalize(
        &self,
        index: &str,
        collection: &str,
        filter: &Value,
    ) -> Result<NormalizedFilter> {
        let normalized = Normalized::from_filter(filter, self.config.parse_options())?;
        Ok(NormalizedFilter {
            id: normalized.room_id(&self.config.seed, index, collection),
            index: index.to_owned(),
            collection: collection.to_owned(),
            filter: normalized,
        })
    }

    /// Stores a normalized filter. Returns false when its id was already stored.
    pub fn store(&mut self, filter: &NormalizedFilter) -> bool {
        self.engines
            .entry(CollectionKey::new(&filter.index, &filter.collection))
            .or_default()
            .insert(&filter.id, &filter.filter)
    }

    /// Validates, normalizes and stores a filter, and returns its room id.
    ///
    /// # Errors
    ///
    /// Same as [`FilterEngine::normalize`].
    pub fn register(&mut self, index: &str, collection: &str, filter: &Value) -> Result<String> {
        let normalized = self.normalize(index, collection, filter)?;
        self.store(&normalized);
        Ok(normalized.id)
    }

    /// Removes a filter. Returns false when it is not stored.
    pub fn remove(&mut self, index: &str, collection: &str, id: &str) -> bool {
        let key = CollectionRef { index, collection };
        let Some(engine) = self.engines.get_mut(&key) else {
            return false;
        };
        let removed = engine.remove(id);
        if engine.is_empty() {
            self.engines.remove(&key);
        }
        removed
    }

    /// Returns true when the filter is stored.
    pub fn contains(&self, index: &str, collection: &str, id: &str) -> bool {
        self.engine(index, collection)
            .is_some_and(|engine| engine.contains(id))
    }

    /// Returns the engine of one `index/collection`, if it contains filters.
    pub fn engine(&self, index: &str, collection: &str) -> Option<&Engine> {
        self.engines.get(&CollectionRef { index, collection })
    }

    /// Returns the ids of the filters matching a document, sorted. `id` is the document's
    /// `_id`, tested by the `ids` keyword.
    pub fn test(
        &self,
        index: &str,
        collection: &str,
        source: &Value,
        id: Option<&str>,
    ) -> Vec<String> {
        let mut ids: Vec<String> = self
            .matching_ids(index, collection, source, id)
            .into_iter()
            .map(str::to_owned)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Same as [`FilterEngine::test`], but borrows the ids from the engine instead of copying
    /// them, and returns them in no particular order.
    pub fn matching_ids<'a>(
        &'a self,
        index: &str,
        collection: &str,
        source: &Value,
        id: Option<&str>,
    ) -> MatchedIds<'a> {
        let Some(engine) = self.engine(index, collection) else {
            return MatchedIds::new();
        };
        match id {
            None => engine.matches_source(source, None),
            Some(id) => engine.matches_source(source, Some(&Value::String(id.to_owned()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn engine() -> FilterEngine {
        FilterEngine::new(EngineConfig::default())
    }

    fn stats(engine: &FilterEngine) -> EngineStats {
        engine.engine("i", "c").map_or(
            EngineStats {
                filters: 0,
                subfilters: 0,
                conditions: 0,
            },
            Engine::stats,
        )
    }

    #[test]
    fn subfilters_and_conditions_are_shared() {
        let mut engine = engine();
        let a = engine
            .register(
                "i",
                "c",
                &json!({"and": [{"equals": {"a": 1}}, {"exists": "b"}]}),
            )
            .unwrap();
        let b = engine
            .register(
                "i",
                "c",
                &json!({"or": [
                    {"and": [{"exists": "b"}, {"equals": {"a": 1}}]},
                    {"equals": {"c": "x"}}
                ]}),
            )
            .unwrap();
        assert_ne!(a, b);
        let counts = stats(&engine);
        assert_eq!(counts.filters, 2);
        assert_eq!(counts.subfilters, 2, "the a-and-b subfilter is stored once");
        assert_eq!(counts.conditions, 3);

        assert_eq!(engine.test("i", "c", &json!({"a": 1, "b": 0}), None), {
            let mut both = vec![a.clone(), b.clone()];
            both.sort();
            both
        });
        assert_eq!(
            engine.test("i", "c", &json!({"c": "x"}), None),
            vec![b.clone()]
        );
    }

    #[test]
    fn removal_frees_only_unshared_parts() {
        let mut engine = engine();
        let a = engine
            .register("i", "c", &json!({"equals": {"a": 1}}))
            .unwrap();
        let b = engine
            .register(
                "i",
                "c",
                &json!({"or": [{"equals": {"a": 1}}, {"range": {"n": {"gt": 0}}}]}),
            )
            .unwrap();
        assert!(engine.remove("i", "c", &b));
        assert_eq!(
            stats(&engine),
            EngineStats {
                filters: 1,
                subfilters: 1,
                conditions: 1
            }
        );
        assert!(engine.test("i", "c", &json!({"n": 3}), None).is_empty());
        assert_eq!(
            engine.test("i", "c", &json!({"a": 1}), None),
            vec![a.clone()]
        );

        assert!(engine.remove("i", "c", &a));
        assert!(
            !engine.remove("i", "c", &a),
            "a second removal finds nothing"
        );
        assert!(
            engine.engine("i", "c").is_none(),
            "an empty engine is dropped"
        );
    }

    #[test]
    fn indexes_are_emptied_by_removal() {
        let filters = [
            json!({"equals": {"a": 1}}),
            json!({"exists": "t[\"x\"]"}),
            json!({"not": {"exists": "b"}}),
            json!({"range": {"n": {"gte": 1}}}),
            json!({"regexp": {"s": "^a"}}),
            json!({"geoDistance": {"p": [0, 0], "distance": "1km"}}),
            json!({"match": {"m": 1}}),
            json!({"select": {"field": "l", "index": 0, "query": {"exists": "value"}}}),
        ];
        let mut engine = Engine::default();
        let config = EngineConfig::default();
        for (i, filter) in filters.iter().enumerate() {
            let normalized = Normalized::from_filter(filter, config.parse_options()).unwrap();
            assert!(engine.insert(&i.to_string(), &normalized));
        }
        for i in 0..filters.len() {
            assert!(engine.remove(&i.to_string()));
        }
        assert_eq!(engine.stats().conditions, 0);
        assert!(engine.indexes.is_empty());
        assert!(engine.negation_only.is_empty());
    }

    #[test]
    fn dotted_keys_use_the_flattened_document() {
        let mut engine = engine();
        let id = engine
            .register("i", "c", &json!({"equals": {"a.b": 1}}))
            .unwrap();
        let literal = json!({"a.b": 1});
        assert_eq!(engine.test("i", "c", &literal, None), vec![id.clone()]);
        let nested = json!({"a": {"b": 1}});
        assert_eq!(engine.test("i", "c", &nested, None), vec![id]);
    }

    #[test]
    fn dotted_keys_without_dotted_fields() {
        let mut engine = engine();
        let id = engine
            .register("i", "c", &json!({"equals": {"a": 1}}))
            .unwrap();
        let document = json!({"a": 1, "x.y": 2, "x": {"y": 3}});
        assert_eq!(engine.test("i", "c", &document, None), vec![id]);
        assert!(
            engine
                .test("i", "c", &json!({"a.b": 1, "b": {"a": 1}}), None)
                .is_empty()
        );
    }

    #[test]
    fn dotted_field_count_follows_removal() {
        let mut engine = engine();
        let dotted = engine
            .register("i", "c", &json!({"equals": {"a.b": 1}}))
            .unwrap();
        let plain = engine
            .register("i", "c", &json!({"equals": {"c": 1}}))
            .unwrap();
        assert!(engine.engine("i", "c").unwrap().indexes.has_dotted_fields());
        assert!(engine.remove("i", "c", &dotted));
        assert!(!engine.engine("i", "c").unwrap().indexes.has_dotted_fields());
        let document = json!({"c": 1, "a.b": 1, "a": {"b": 2}});
        assert_eq!(engine.test("i", "c", &document, None), vec![plain]);
    }

    #[test]
    fn filter_matching_twice_is_listed_once() {
        let mut engine = engine();
        let id = engine
            .register(
                "i",
                "c",
                &json!({"or": [{"equals": {"a": 1}}, {"exists": "b"}]}),
            )
            .unwrap();
        let single = engine
            .register("i", "c", &json!({"equals": {"a": 1}}))
            .unwrap();
        let document = json!({"a": 1, "b": true});
        let matched = engine.matching_ids("i", "c", &document, None);
        assert_eq!(matched.len(), 2, "{matched:?}");
        let mut expected = vec![id, single];
        expected.sort();
        assert_eq!(engine.test("i", "c", &document, None), expected);
    }

    #[test]
    fn source_id_is_replaced_by_document_id() {
        let mut engine = engine();
        let id = engine
            .register("i", "c", &json!({"ids": {"values": ["real"]}}))
            .unwrap();
        let source = json!({"_id": "fake"});
        assert_eq!(engine.test("i", "c", &source, Some("real")), vec![id]);
        assert!(
            engine
                .test("i", "c", &json!({"_id": "real"}), Some("other"))
                .is_empty()
        );
    }

    #[test]
    fn engines_are_per_collection() {
        let mut engine = engine();
        let id = engine.register("i", "c", &json!({})).unwrap();
        assert_eq!(engine.test("i", "c", &json!({}), None), vec![id]);
        assert!(engine.test("i", "other", &json!({}), None).is_empty());
    }

    #[test]
    fn negated_conditions_on_absent_fields() {
        let mut engine = engine();
        let id = engine
            .register(
                "i",
                "c",
                &json!({"and": [{"not": {"equals": {"a": 1}}}, {"missing": "b"}]}),
            )
            .unwrap();
        assert_eq!(engine.test("i", "c", &json!({}), None), vec![id.clone()]);
        assert_eq!(engine.test("i", "c", &json!({"a": 2}), None), vec![id]);
        assert!(engine.test("i", "c", &json!({"a": 1}), None).is_empty());
        assert!(engine.test("i", "c", &json!({"b": null}), None).is_empty());
    }
}
