//! Per-field indexes from document values to the conditions they satisfy.

use std::collections::HashMap;

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde_json::Value;

use crate::filter::{Bound, Condition, ConditionKind, in_range};
use crate::geo::{GeoShape, parse_geopoint};
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
    shape: GeoShape,
}

/// Range bounds beyond this magnitude are stored clamped; the exact test runs after the tree.
const RANGE_LIMIT: f64 = 1e150;

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
/// string borrows it instead of copying it.
#[derive(Debug, Default)]
struct ScalarMap {
    strings: HashMap<String, ConditionId>,
    others: HashMap<Scalar, ConditionId>,
}

impl ScalarMap {
    fn insert(&mut self, key: Scalar, id: ConditionId) {
        match key {
            Scalar::String(s) => self.strings.insert(s, id),
            other => self.others.insert(other, id),
        };
    }

    fn remove(&mut self, key: &Scalar) {
        match key {
            Scalar::String(s) => self.strings.remove(s),
            other => self.others.remove(other),
        };
    }

    /// Returns the condition of a document value, if it is a scalar with one.
    fn get(&self, value: &Value) -> Option<ConditionId> {
        match value {
            Value::String(s) => self.strings.get(s.as_str()).copied(),
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

/// Every indexed condition of one engine, keyed by field.
#[derive(Debug, Default)]
pub struct FieldIndexes {
    equals: HashMap<String, ScalarMap>,
    exists: HashMap<String, ExistsIndex>,
    ranges: HashMap<String, RTree<RangeEntry>>,
    regexps: HashMap<String, Vec<(ConditionId, regex::Regex)>>,
    geo: HashMap<String, RTree<GeoEntry>>,
    selects: HashMap<String, Vec<(ConditionId, Condition)>>,
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
        shape: shape.clone(),
    };
    Some(GeoEntry::new(Rectangle::from_corners(min, max), data))
}

impl FieldIndexes {
    /// Adds a condition. Conditions with a field must be added once per id.
    pub fn insert(&mut self, id: ConditionId, condition: &Condition) {
        let field = condition.field().unwrap_or_default().to_owned();
        match condition.kind() {
            ConditionKind::Nothing => {}
            ConditionKind::Equals { value, .. } => {
                self.equals
                    .entry(field)
                    .or_default()
                    .insert(value.clone(), id);
            }
            ConditionKind::Exists { value, .. } => {
                let index = self.exists.entry(field).or_default();
                match value.as_ref().map(Scalar::from_value) {
                    None => index.plain = Some(id),
                    Some(Some(member)) => {
                        index.members.insert(member, id);
                    }
                    // An object or array member is never found, so nothing to index.
                    Some(None) => {}
                }
            }
            ConditionKind::Range { .. } => {
                let entry = range_entry(id, condition.kind()).expect("range condition");
                self.ranges.entry(field).or_default().insert(entry);
            }
            ConditionKind::Regexp { regex, .. } => {
                self.regexps
                    .entry(field)
                    .or_default()
                    .push((id, regex.clone()));
            }
            ConditionKind::Geo { .. } => {
                let entry = geo_entry(id, condition.kind()).expect("geo condition");
                self.geo.entry(field).or_default().insert(entry);
            }
            ConditionKind::Select { .. } => {
                self.selects
                    .entry(field)
                    .or_default()
                    .push((id, condition.clone()));
            }
            ConditionKind::Match { .. } => self.matches.push((id, condition.clone())),
        }
    }

    /// Removes a condition added with [`FieldIndexes::insert`].
    pub fn remove(&mut self, id: ConditionId, condition: &Condition) {
        let field = condition.field().unwrap_or_default();
        match condition.kind() {
            ConditionKind::Nothing => {}
            ConditionKind::Equals { value, .. } => {
                remove_nested(&mut self.equals, field, |values| {
                    values.remove(value);
                    values.is_empty()
                });
            }
            ConditionKind::Exists { value, .. } => {
                remove_nested(&mut self.exists, field, |index| {
                    match value.as_ref().map(Scalar::from_value) {
                        None => index.plain = None,
                        Some(Some(member)) => {
                            index.members.remove(&member);
                        }
                        Some(None) => {}
                    }
                    index.plain.is_none() && index.members.is_empty()
                });
            }
            ConditionKind::Range { .. } => {
                let entry = range_entry(id, condition.kind()).expect("range condition");
                remove_nested(&mut self.ranges, field, |tree| {
                    tree.remove(&entry);
                    tree.size() == 0
                });
            }
            ConditionKind::Geo { .. } => {
                let entry = geo_entry(id, condition.kind()).expect("geo condition");
                remove_nested(&mut self.geo, field, |tree| {
                    tree.remove(&entry);
                    tree.size() == 0
                });
            }
            ConditionKind::Regexp { .. } => {
                remove_nested(&mut self.regexps, field, |list| {
                    list.retain(|(c, _)| *c != id);
                    list.is_empty()
                });
            }
            ConditionKind::Select { .. } => {
                remove_nested(&mut self.selects, field, |list| {
                    list.retain(|(c, _)| *c != id);
                    list.is_empty()
                });
            }
            ConditionKind::Match { .. } => self.matches.retain(|(c, _)| *c != id),
        }
    }

    /// Collects the conditions that one document field satisfies or whose negation it
    /// falsifies.
    pub fn field_hits(&self, field: &str, value: &Value, hits: &mut Vec<Hit>) {
        self.equals_hits(field, value, hits);
        self.exists_hits(field, value, hits);
        self.range_hits(field, value, hits);
        self.regexp_hits(field, value, hits);
        self.geo_hits(field, value, hits);
        if let Some(selects) = self.selects.get(field) {
            for (id, condition) in selects {
                if condition.test_field(Some(value), false) {
                    hits.push(Hit::both(*id));
                }
            }
        }
    }

    /// Returns true when `match` conditions are stored: they read the whole flattened
    /// document rather than one field.
    pub fn has_match_conditions(&self) -> bool {
        !self.matches.is_empty()
    }

    /// Collects the `match` conditions the document satisfies.
    pub fn match_hits(&self, document: &FlatDocument<'_>, hits: &mut Vec<Hit>) {
        for (id, condition) in &self.matches {
            if condition.test(document, false) {
                hits.push(Hit::both(*id));
            }
        }
    }

    fn equals_hits(&self, field: &str, value: &Value, hits: &mut Vec<Hit>) {
        let Some(values) = self.equals.get(field) else {
            return;
        };
        if let Some(id) = values.get(value) {
            hits.push(Hit::both(id));
        }
    }

    fn exists_hits(&self, field: &str, value: &Value, hits: &mut Vec<Hit>) {
        let Some(index) = self.exists.get(field) else {
            return;
        };
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

    fn range_hits(&self, field: &str, value: &Value, hits: &mut Vec<Hit>) {
        let (Some(tree), Some(n)) = (self.ranges.get(field), value.as_f64()) else {
            return;
        };
        let v = n.clamp(-RANGE_LIMIT, RANGE_LIMIT);
        let quarter = AABB::from_corners([-RANGE_LIMIT, v], [v, RANGE_LIMIT]);
        for entry in tree.locate_in_envelope(quarter) {
            if in_range(n, entry.data.lower, entry.data.upper) {
                hits.push(Hit::both(entry.data.id));
            }
        }
    }

    fn regexp_hits(&self, field: &str, value: &Value, hits: &mut Vec<Hit>) {
        let Some(list) = self.regexps.get(field) else {
            return;
        };
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

    fn geo_hits(&self, field: &str, value: &Value, hits: &mut Vec<Hit>) {
        let Some(tree) = self.geo.get(field) else {
            return;
        };
        if !is_truthy(value) {
            return;
        }
        let Some(point) = parse_geopoint(value) else {
            hits.extend(tree.iter().map(|entry| Hit::blocks_only(entry.data.id)));
            return;
        };
        let location = [point.lon, point.lat];
        for entry in tree.locate_all_at_point(location) {
            if entry.data.shape.contains(point) {
                hits.push(Hit::both(entry.data.id));
            }
        }
    }

    /// Returns true when nothing is indexed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.equals.is_empty()
            && self.exists.is_empty()
            && self.ranges.is_empty()
            && self.regexps.is_empty()
            && self.geo.is_empty()
            && self.selects.is_empty()
            && self.matches.is_empty()
    }
}

fn remove_nested<T>(
    map: &mut HashMap<String, T>,
    field: &str,
    remove: impl FnOnce(&mut T) -> bool,
) {
    if let Some(inner) = map.get_mut(field)
        && remove(inner)
    {
        map.remove(field);
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
