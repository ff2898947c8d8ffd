//! Per-field indexes from document values to the conditions they satisfy.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use compact_str::CompactString;
use foldhash::fast::RandomState;
use hashbrown::hash_map::Entry;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde_json::Value;
use smallvec::SmallVec;

use super::short_key::ShortKey;
use crate::filter::{Bound, Condition, ConditionKind, LazyRegex, in_range};
use crate::geo::{PreparedPoint, PreparedShape, parse_geopoint};
use crate::json::{FlatDocument, Scalar, is_truthy, js_to_string};

/// Condition id inside one engine.
pub type ConditionId = usize;

/// A range condition in its field's tree, as the point `(lower bound, upper bound)`: a value
/// `v` is within the bounds of the points in the quarter plane `x <= v <= y`. Points index far
/// better than the long, overlapping intervals they stand for.
type RangeEntry = GeomWithData<[f64; 2], RangeData>;
/// A geo condition in its field's tree, at its shape's envelope (longitude, latitude).
type GeoEntry = GeomWithData<Rectangle<[f64; 2]>, GeoData>;

#[derive(Debug, Clone, PartialEq)]
struct RangeData {
    id: ConditionId,
    lower: Option<Bound>,
    upper: Option<Bound>,
}

#[derive(Debug, Clone, PartialEq)]
struct GeoData {
    id: ConditionId,
    shape: PreparedShape,
}

/// Node sizes of the range and geo trees. rstar's default of 3 to 6 children builds deep trees
/// whose many small nodes a point query visits one cache miss at a time. With up to 16
/// children, the benchmark's geo and range filters matched 15% to 30% more documents per
/// second. An insert costs more (about 6% of a polygon filter's registration), since it
/// compares more children.
#[derive(Debug)]
struct NodeSize;

impl rstar::RTreeParams for NodeSize {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

/// Every query collects what it finds, so the visitors never stop early.
const CONTINUE: ControlFlow<()> = ControlFlow::Continue(());

/// Range bounds beyond this magnitude are stored clamped; the exact test runs after the tree.
const RANGE_LIMIT: f64 = 1e150;

/// Conditions hit by one document. Most documents hit few, and these stay on the stack. The
/// documents of `range` and geo conditions often hit dozens, which spill to the heap.
pub type Hits = SmallVec<[Hit; 16]>;

/// Outcome of one condition on a document.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub condition: ConditionId,
    /// The plain condition is true.
    pub plain: bool,
    /// The negated condition is false.
    pub blocks_negation: bool,
}

impl Hit {
    fn both(condition: ConditionId) -> Self {
        Self {
            condition,
            plain: true,
            blocks_negation: true,
        }
    }

    fn blocks_only(condition: ConditionId) -> Self {
        Self {
            condition,
            plain: false,
            blocks_negation: true,
        }
    }
}

/// Conditions keyed by a scalar. Strings have their own map so that a lookup by a document's
/// string borrows it instead of copying it. Its keys keep strings of up to 24 bytes inline, so
/// comparing the key found by the hash reads no other memory.
#[derive(Debug, Default)]
struct ScalarMap {
    strings: hashbrown::HashMap<CompactString, ConditionId, RandomState>,
    others: HashMap<Scalar, ConditionId, RandomState>,
}

impl ScalarMap {
    fn insert(&mut self, key: Scalar, id: ConditionId) {
        match key {
            Scalar::String(s) => self.strings.insert(CompactString::from(s), id),
            other => self.others.insert(other, id),
        };
    }

    fn remove(&mut self, key: &Scalar) {
        match key {
            Scalar::String(s) => self.strings.remove(s.as_str()),
            other => self.others.remove(other),
        };
    }

    /// Returns the condition of a document value, if it is a scalar with one.
    fn get(&self, value: &Value) -> Option<ConditionId> {
        match value {
            Value::String(s) => self.strings.get(&ShortKey(s)).copied(),
            Value::Array(_) | Value::Object(_) => None,
            scalar => self.others.get(&Scalar::from_value(scalar)?).copied(),
        }
    }

    fn is_empty(&self) -> bool {
        self.strings.is_empty() && self.others.is_empty()
    }
}

#[derive(Debug, Default)]
struct ExistsIndex {
    plain: Option<ConditionId>,
    members: ScalarMap,
}

/// The conditions on one field, by keyword. The trees exist only while they hold entries,
/// because an empty `RTree` already allocates its root, and most fields have no range or
/// geo condition.
#[derive(Debug, Default)]
struct FieldIndex {
    equals: ScalarMap,
    exists: ExistsIndex,
    ranges: Option<RTree<RangeEntry, NodeSize>>,
    regexps: Vec<(ConditionId, Arc<LazyRegex>)>,
    geo: Option<RTree<GeoEntry, NodeSize>>,
    selects: Vec<(ConditionId, Condition)>,
}

impl FieldIndex {
    fn is_empty(&self) -> bool {
        self.equals.is_empty()
            && self.exists.plain.is_none()
            && self.exists.members.is_empty()
            && self.ranges.is_none()
            && self.regexps.is_empty()
            && self.geo.is_none()
            && self.selects.is_empty()
    }
}

/// Every indexed condition of one engine. Field-bound conditions sit under their field, so a
/// document field costs one lookup whatever the keywords.
#[derive(Debug, Default)]
pub struct FieldIndexes {
    /// Inline keys, as in [`ScalarMap`]. The values are boxed, because a `FieldIndex` is a
    /// few hundred bytes that every growth of the map would otherwise copy.
    fields: hashbrown::HashMap<CompactString, Box<FieldIndex>, RandomState>,
    /// Number of keys of `fields` that contain a dot.
    dotted_fields: usize,
    matches: Vec<(ConditionId, Condition)>,
}

fn range_entry(id: ConditionId, kind: &ConditionKind) -> Option<RangeEntry> {
    let ConditionKind::Range { lower, upper, .. } = kind else {
        return None;
    };
    let low = lower.map_or(-RANGE_LIMIT, |b| b.value.clamp(-RANGE_LIMIT, RANGE_LIMIT));
    let high = upper.map_or(RANGE_LIMIT, |b| b.value.clamp(-RANGE_LIMIT, RANGE_LIMIT));
    let data = RangeData {
        id,
        lower: *lower,
        upper: *upper,
    };
    Some(RangeEntry::new([low, high], data))
}

fn geo_entry(id: ConditionId, kind: &ConditionKind) -> Option<GeoEntry> {
    let ConditionKind::Geo { shape, .. } = kind else {
        return None;
    };
    let (min, max) = shape.envelope();
    let data = GeoData {
        id,
        shape: PreparedShape::new(shape.clone()),
    };
    Some(GeoEntry::new(Rectangle::from_corners(min, max), data))
}

impl FieldIndexes {
    /// Adds a condition. Each condition must be added once, under one id.
    pub fn insert(&mut self, id: ConditionId, condition: &Condition) {
        let kind = condition.kind();
        if let ConditionKind::Match { .. } = kind {
            self.matches.push((id, condition.clone()));
            return;
        }
        let Some(field) = condition.field() else {
            return;
        };
        let index = match self.fields.entry(CompactString::from(field)) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                if field.contains('.') {
                    self.dotted_fields += 1;
                }
                entry.insert(Box::default())
            }
        };
        match kind {
            ConditionKind::Nothing | ConditionKind::Match { .. } => {}
            ConditionKind::Equals { value, .. } => index.equals.insert(value.clone(), id),
            ConditionKind::Exists { value: None, .. } => index.exists.plain = Some(id),
            ConditionKind::Exists {
                value: Some(member),
                ..
            } => {
                // An object or array member is never found, so it needs no entry.
                if let Some(member) = Scalar::from_value(member) {
                    index.exists.members.insert(member, id);
                }
            }
            ConditionKind::Range { .. } => {
                let entry = range_entry(id, kind).expect("range condition");
                index
                    .ranges
                    .get_or_insert_with(RTree::new_with_params)
                    .insert(entry);
            }
            ConditionKind::Regexp { regex, .. } => index.regexps.push((id, regex.clone())),
            ConditionKind::Geo { .. } => {
                let entry = geo_entry(id, kind).expect("geo condition");
                index
                    .geo
                    .get_or_insert_with(RTree::new_with_params)
                    .insert(entry);
            }
            ConditionKind::Select { .. } => index.selects.push((id, condition.clone())),
        }
    }

    /// Removes a condition added with [`FieldIndexes::insert`].
    pub fn remove(&mut self, id: ConditionId, condition: &Condition) {
        let kind = condition.kind();
        if let ConditionKind::Match { .. } = kind {
            self.matches.retain(|(c, _)| *c != id);
            return;
        }
        let Some(field) = condition.field() else {
            return;
        };
        let Some(index) = self.fields.get_mut(field) else {
            return;
        };
        match kind {
            ConditionKind::Nothing | ConditionKind::Match { .. } => {}
            ConditionKind::Equals { value, .. } => index.equals.remove(value),
            ConditionKind::Exists { value: None, .. } => index.exists.plain = None,
            ConditionKind::Exists {
                value: Some(member),
                ..
            } => {
                if let Some(member) = Scalar::from_value(member) {
                    index.exists.members.remove(&member);
                }
            }
            ConditionKind::Range { .. } => {
                let entry = range_entry(id, kind).expect("range condition");
                remove_entry(&mut index.ranges, &entry);
            }
            ConditionKind::Regexp { .. } => index.regexps.retain(|(c, _)| *c != id),
            ConditionKind::Geo { .. } => {
                let entry = geo_entry(id, kind).expect("geo condition");
                remove_entry(&mut index.geo, &entry);
            }
            ConditionKind::Select { .. } => index.selects.retain(|(c, _)| *c != id),
        }
        if index.is_empty() {
            self.fields.remove(field);
            if field.contains('.') {
                self.dotted_fields -= 1;
            }
        }
    }

    /// Collects the conditions that one document field satisfies or whose negation it
    /// falsifies.
    pub fn field_hits(&self, field: &str, value: &Value, hits: &mut Hits) {
        let Some(index) = self.fields.get(&ShortKey(field)) else {
            return;
        };
        if let Some(id) = index.equals.get(value) {
            hits.push(Hit::both(id));
        }
        exists_hits(&index.exists, value, hits);
        if let Some(ranges) = &index.ranges {
            range_hits(ranges, value, hits);
        }
        regexp_hits(&index.regexps, value, hits);
        if let Some(geo) = &index.geo {
            geo_hits(geo, value, hits);
        }
        for (id, condition) in &index.selects {
            if condition.test_field(Some(value), false) {
                hits.push(Hit::both(*id));
            }
        }
    }

    /// Returns true when a condition reads a field whose name contains a dot.
    pub fn has_dotted_fields(&self) -> bool {
        self.dotted_fields > 0
    }

    /// Returns true when `match` conditions are stored: they read the whole flattened
    /// document rather than one field.
    pub fn has_match_conditions(&self) -> bool {
        !self.matches.is_empty()
    }

    /// Collects the `match` conditions the document satisfies.
    pub fn match_hits(&self, document: &FlatDocument<'_>, hits: &mut Hits) {
        for (id, condition) in &self.matches {
            if condition.test(document, false) {
                hits.push(Hit::both(*id));
            }
        }
    }

    /// Returns true when nothing is indexed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.dotted_fields == 0 && self.matches.is_empty()
    }
}

/// Removes an entry from an optional tree, and drops the tree once empty.
fn remove_entry<T: rstar::RTreeObject + PartialEq>(
    tree: &mut Option<RTree<T, NodeSize>>,
    entry: &T,
) {
    if let Some(inner) = tree {
        inner.remove(entry);
        if inner.size() == 0 {
            *tree = None;
        }
    }
}

fn exists_hits(index: &ExistsIndex, value: &Value, hits: &mut Hits) {
    if let Some(id) = index.plain {
        hits.push(Hit::both(id));
    }
    if let (Value::Array(items), false) = (value, index.members.is_empty()) {
        let mut found: Vec<ConditionId> = items
            .iter()
            .filter_map(|item| index.members.get(item))
            .collect();
        found.sort_unstable();
        found.dedup();
        hits.extend(found.into_iter().map(Hit::both));
    }
}

fn range_hits(tree: &RTree<RangeEntry, NodeSize>, value: &Value, hits: &mut Hits) {
    let Some(n) = value.as_f64() else {
        return;
    };
    let v = n.clamp(-RANGE_LIMIT, RANGE_LIMIT);
    let quarter = AABB::from_corners([-RANGE_LIMIT, v], [v, RANGE_LIMIT]);
    let _ = tree.locate_in_envelope_int(quarter, |entry| {
        if in_range(n, entry.data.lower, entry.data.upper) {
            hits.push(Hit::both(entry.data.id));
        }
        CONTINUE
    });
}

fn regexp_hits(list: &[(ConditionId, Arc<LazyRegex>)], value: &Value, hits: &mut Hits) {
    if list.is_empty() {
        return;
    }
    match value {
        Value::String(s) => {
            for (id, regex) in list {
                if regex.is_match(s) {
                    hits.push(Hit::both(*id));
                }
            }
        }
        other => {
            let text = js_to_string(other);
            for (id, regex) in list {
                if regex.is_match(&text) {
                    hits.push(Hit::blocks_only(*id));
                }
            }
        }
    }
}

fn geo_hits(tree: &RTree<GeoEntry, NodeSize>, value: &Value, hits: &mut Hits) {
    if !is_truthy(value) {
        return;
    }
    let Some(point) = parse_geopoint(value) else {
        hits.extend(tree.iter().map(|entry| Hit::blocks_only(entry.data.id)));
        return;
    };
    let point = PreparedPoint::new(point);
    let mut candidates: SmallVec<[&GeoEntry; 64]> = SmallVec::new();
    let _ = tree.locate_all_at_point_int([point.lon(), point.lat()], |entry| {
        candidates.push(entry);
        CONTINUE
    });
    // A polygon's edges sit in an allocation of their own that is rarely in cache. Tested one
    // by one, each candidate waits for its own miss, because the test branches on the loaded
    // edges. Reading every candidate's edges first, with no branch on the values, lets the
    // processor fetch them in parallel.
    let touched = candidates
        .iter()
        .fold(0, |acc, entry| acc ^ entry.data.shape.touch_edges());
    std::hint::black_box(touched);
    for entry in candidates {
        if entry.data.shape.contains(&point) {
            hits.push(Hit::both(entry.data.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_point_clamps_open_bounds() {
        let kind = ConditionKind::Range {
            field: "a".into(),
            lower: Some(Bound {
                value: 1.0,
                inclusive: false,
            }),
            upper: None,
        };
        let entry = range_entry(0, &kind).unwrap();
        assert_eq!(*entry.geom(), [1.0, RANGE_LIMIT]);
    }
}
