//! Canonical disjunctive normal form of filters, and room ids derived from it.
//!
//! A filter becomes an OR of subfilters, each an AND of possibly negated leaf conditions.
//! Negations are pushed down to the leaves (De Morgan). For boolean canonicity the normal form
//! is completed to the set of all prime implicants (the Blake canonical form), so two filters
//! that are the same boolean function of the same conditions get the same subfilters. Then
//! per-field knowledge removes impossible subfilters and decided or redundant conditions:
//! `equals a 1 and equals a 2` is impossible, `equals a 1 and not equals a 2` keeps only
//! `equals a 1`, and ranges on one field are intersected.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::condition::{Bound, Condition, ConditionKind};
use super::parse::{Expr, ParseOptions, count_conditions, parse};
use crate::error::{RealtimeError, Result};
use crate::json::{FlatDocument, write_json_string};

/// A leaf condition, possibly negated.
#[derive(Debug, Clone)]
pub struct Literal {
    /// The condition, shared between the literals that use it.
    pub condition: Arc<Condition>,
    /// True when the literal is `not <condition>`.
    pub negated: bool,
}

impl Literal {
    fn new(condition: Condition, negated: bool) -> Self {
        Self {
            condition: Arc::new(condition),
            negated,
        }
    }

    fn is_opposite(&self, other: &Self) -> bool {
        self.negated != other.negated && self.condition == other.condition
    }

    /// Returns the canonical JSON: the condition's keyword object plus `"not": <bool>`.
    pub fn to_json(&self) -> Value {
        let mut value = self.condition.to_json();
        if let Value::Object(map) = &mut value {
            map.insert("not".into(), Value::Bool(self.negated));
        }
        value
    }

    /// Appends the key-sorted JSON of [`Literal::to_json`]. The condition's key already is the
    /// key-sorted JSON of an object with one key, its keyword, so `"not"` goes before or after
    /// that keyword without building and sorting a new object.
    fn write_canonical(&self, out: &mut Vec<u8>) {
        let key = self.condition.key();
        let body = &key[1..key.len() - 1];
        let keyword = body[1..].split('"').next().unwrap_or_default();
        let not: &[u8] = if self.negated {
            b"\"not\":true"
        } else {
            b"\"not\":false"
        };
        out.push(b'{');
        if keyword < "not" {
            out.extend_from_slice(body.as_bytes());
            out.push(b',');
            out.extend_from_slice(not);
        } else {
            out.extend_from_slice(not);
            out.push(b',');
            out.extend_from_slice(body.as_bytes());
        }
        out.push(b'}');
    }
}

impl PartialEq for Literal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Literal {}

impl PartialOrd for Literal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Literal {
    fn cmp(&self, other: &Self) -> Ordering {
        self.condition
            .cmp(&other.condition)
            .then(self.negated.cmp(&other.negated))
    }
}

/// A conjunction of literals, sorted and without duplicates.
type Term = Vec<Literal>;

/// A filter in canonical disjunctive normal form.
///
/// No subfilter means the filter matches nothing; one empty subfilter means it matches every
/// document.
#[derive(Debug, Clone)]
pub struct Normalized {
    subfilters: Vec<Term>,
}

impl Normalized {
    /// Validates and normalizes a Koncorde filter.
    ///
    /// # Errors
    ///
    /// Returns [`RealtimeError::InvalidFilter`] for bad syntax,
    /// [`RealtimeError::TooManyConditions`] above `options.max_conditions` and
    /// [`RealtimeError::TooManySubfilters`] when the normal form exceeds
    /// `options.max_subfilters`.
    pub fn from_filter(filter: &Value, options: ParseOptions) -> Result<Self> {
        let Some(expr) = parse(filter, options)? else {
            return Ok(Self::everything());
        };
        let count = count_conditions(&expr);
        if options.max_conditions > 0 && count > options.max_conditions {
            return Err(RealtimeError::TooManyConditions {
                count,
                max: options.max_conditions,
            });
        }
        Self::from_expr(&expr, options.max_subfilters)
    }

    fn from_expr(expr: &Expr, max_subfilters: usize) -> Result<Self> {
        let terms = to_dnf(expr, false, max_subfilters)?;
        let terms = complete(terms, max_subfilters)?;
        let terms: Vec<Term> = terms.into_iter().filter_map(simplify).collect();
        let mut terms = absorb(terms);
        terms.sort();
        Ok(Self { subfilters: terms })
    }

    /// Returns the filter that matches every document.
    pub fn everything() -> Self {
        Self {
            subfilters: vec![Vec::new()],
        }
    }

    /// Returns the subfilters: an OR of ANDs of literals.
    pub fn subfilters(&self) -> &[Vec<Literal>] {
        &self.subfilters
    }

    /// Returns the canonical JSON: an array of subfilters, each an array of literals.
    pub fn to_json(&self) -> Value {
        let terms: Vec<Value> = self
            .subfilters
            .iter()
            .map(|term| Value::Array(term.iter().map(Literal::to_json).collect()))
            .collect();
        Value::Array(terms)
    }

    /// Computes the room id: hex HMAC-SHA256, keyed with `seed`, of the key-sorted JSON of
    /// `{"filter": <canonical form>, "index": "<index>/<collection>"}`.
    pub fn room_id(&self, seed: &[u8], index: &str, collection: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(seed)
            .expect("HMAC accepts keys of any length");
        mac.update(&self.room_payload(index, collection));
        let digest = mac.finalize().into_bytes();

        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = String::with_capacity(2 * digest.len());
        for byte in digest {
            id.push(char::from(HEX[usize::from(byte >> 4)]));
            id.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        id
    }

    /// Writes what [`Normalized::room_id`] hashes, the key-sorted JSON of
    /// `{"filter": <canonical form>, "index": "<index>/<collection>"}`, straight from the
    /// conditions' keys.
    fn room_payload(&self, index: &str, collection: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"{\"filter\":[");
        for (i, term) in self.subfilters.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            for (j, literal) in term.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                literal.write_canonical(&mut out);
            }
            out.push(b']');
        }
        out.extend_from_slice(b"],\"index\":");
        write_json_string(&format!("{index}/{collection}"), &mut out);
        out.push(b'}');
        out
    }

    /// Tests the filter on a document by evaluating every subfilter, without any index.
    pub fn test(&self, document: &FlatDocument<'_>) -> bool {
        self.subfilters.iter().any(|term| {
            term.iter()
                .all(|literal| literal.condition.test(document, literal.negated))
        })
    }
}

/// Expands a filter into subfilters, pushing `not` down to the leaves.
fn to_dnf(expr: &Expr, negated: bool, max: usize) -> Result<Vec<Term>> {
    match (expr, negated) {
        (Expr::Leaf(condition), _) => Ok(vec![vec![Literal::new(condition.clone(), negated)]]),
        (Expr::Not(child), _) => to_dnf(child, !negated, max),
        (Expr::Or(children), false) | (Expr::And(children), true) => {
            let mut terms = Vec::new();
            for child in children {
                terms.extend(to_dnf(child, negated, max)?);
                check_size(terms.len(), max)?;
            }
            Ok(terms)
        }
        (Expr::And(children), false) | (Expr::Or(children), true) => {
            let mut terms: Vec<Term> = vec![Vec::new()];
            for child in children {
                let child_terms = to_dnf(child, negated, max)?;
                check_size(terms.len().saturating_mul(child_terms.len()), max)?;
                terms = terms
                    .iter()
                    .flat_map(|left| child_terms.iter().filter_map(|right| conjoin(left, right)))
                    .collect();
            }
            Ok(terms)
        }
    }
}

fn check_size(size: usize, max: usize) -> Result<()> {
    if size > max {
        return Err(RealtimeError::TooManySubfilters { max });
    }
    Ok(())
}

/// Returns the conjunction of two terms, or `None` when it contains a literal and its opposite.
fn conjoin(left: &Term, right: &Term) -> Option<Term> {
    let mut term: Term = left.iter().chain(right).cloned().collect();
    term.sort();
    term.dedup();
    let contradiction = term.windows(2).any(|pair| pair[0].is_opposite(&pair[1]));
    (!contradiction).then_some(term)
}

fn is_subset(small: &Term, large: &Term) -> bool {
    small.len() <= large.len() && small.iter().all(|l| large.binary_search(l).is_ok())
}

/// Removes duplicate terms and the terms that contain another term (`a or (a and b)` is `a`).
fn absorb(mut terms: Vec<Term>) -> Vec<Term> {
    terms.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    terms.dedup();
    let mut kept: Vec<Term> = Vec::with_capacity(terms.len());
    for term in terms {
        if !kept.iter().any(|k| is_subset(k, &term)) {
            kept.push(term);
        }
    }
    kept
}

/// Completes the terms to all prime implicants by iterated consensus. A function without a
/// condition used both plainly and negated is already complete once absorbed.
///
/// Consensus relies on `x or not x` being true, so it never pivots on a condition whose
/// negation is not its complement (see [`Condition::negation_is_complement`]).
fn complete(terms: Vec<Term>, max: usize) -> Result<Vec<Term>> {
    let mut terms = absorb(terms);
    let mut polarity: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for literal in terms.iter().flatten() {
        if !literal.condition.negation_is_complement() {
            continue;
        }
        let entry = polarity.entry(literal.condition.key()).or_default();
        if literal.negated {
            entry.1 = true;
        } else {
            entry.0 = true;
        }
    }
    if !polarity.values().any(|(plain, negated)| *plain && *negated) {
        return Ok(terms);
    }

    // Each round compares every pair of terms; the budget bounds the work one filter costs.
    let mut budget = max.saturating_mul(max) / 4;
    loop {
        let mut added: Vec<Term> = Vec::new();
        for (i, a) in terms.iter().enumerate() {
            for b in &terms[i + 1..] {
                budget = budget
                    .checked_sub(1)
                    .ok_or(RealtimeError::TooManySubfilters { max })?;
                let Some(consensus) = consensus(a, b) else {
                    continue;
                };
                let absorbed = terms.iter().chain(&added).any(|t| is_subset(t, &consensus));
                if !absorbed {
                    added.push(consensus);
                }
            }
        }
        if added.is_empty() {
            return Ok(terms);
        }
        terms.extend(added);
        terms = absorb(terms);
        check_size(terms.len(), max)?;
    }
}

/// Returns the consensus of two terms that oppose on exactly one condition.
fn consensus(a: &Term, b: &Term) -> Option<Term> {
    // Both terms are sorted by condition then polarity, so one merge pass finds the conditions
    // they use with opposite polarities.
    let (mut i, mut j) = (0, 0);
    let mut pivot: Option<&Literal> = None;
    while i < a.len() && j < b.len() {
        match a[i].condition.cmp(&b[j].condition) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                if a[i].negated != b[j].negated {
                    if pivot.is_some() {
                        return None;
                    }
                    pivot = Some(&a[i]);
                }
                i += 1;
                j += 1;
            }
        }
    }
    let pivot = pivot?;
    if !pivot.condition.negation_is_complement() {
        return None;
    }
    let mut term: Term = a
        .iter()
        .chain(b)
        .filter(|l| l.condition != pivot.condition)
        .cloned()
        .collect();
    term.sort();
    term.dedup();
    Some(term)
}

/// Applies per-field knowledge to a term: returns `None` when no document can satisfy it,
/// otherwise the term without decided or redundant literals.
fn simplify(term: Term) -> Option<Term> {
    let mut by_field: BTreeMap<String, Vec<Literal>> = BTreeMap::new();
    let mut result: Term = Vec::new();

    for literal in term {
        match (literal.condition.kind(), literal.condition.field()) {
            (ConditionKind::Nothing, _) if literal.negated => {}
            (ConditionKind::Nothing, _) => return None,
            (_, Some(field)) => by_field.entry(field.to_owned()).or_default().push(literal),
            (_, None) => result.push(literal),
        }
    }
    for literals in by_field.into_values() {
        result.extend(simplify_field(literals)?);
    }
    result.sort();
    result.dedup();
    Some(result)
}

fn simplify_field(literals: Vec<Literal>) -> Option<Vec<Literal>> {
    // A positive `equals` or a `not exists` fixes the field's value: every other literal on the
    // field is then true (dropped) or false (the term is impossible).
    let determining = literals
        .iter()
        .find(|l| !l.negated && matches!(l.condition.kind(), ConditionKind::Equals { .. }))
        .or_else(|| {
            literals.iter().find(|l| {
                l.negated
                    && matches!(
                        l.condition.kind(),
                        ConditionKind::Exists { value: None, .. }
                    )
            })
        });
    if let Some(determining) = determining {
        let value = match determining.condition.kind() {
            ConditionKind::Equals { value, .. } => Some(value.to_value()),
            _ => None,
        };
        for literal in &literals {
            if literal != determining
                && !literal
                    .condition
                    .test_field(value.as_ref(), literal.negated)
            {
                return None;
            }
        }
        return Some(vec![determining.clone()]);
    }

    let (ranges, mut others): (Vec<Literal>, Vec<Literal>) = literals
        .into_iter()
        .partition(|l| !l.negated && matches!(l.condition.kind(), ConditionKind::Range { .. }));
    if !ranges.is_empty() {
        others.push(intersect_ranges(&ranges)?);
    }

    // `exists` is implied by any other positive literal on the field except `not`-forms.
    let implies_existence = others.iter().any(|l| {
        !l.negated
            && !matches!(
                l.condition.kind(),
                ConditionKind::Exists { value: None, .. }
            )
    });
    if implies_existence {
        others.retain(|l| {
            l.negated
                || !matches!(
                    l.condition.kind(),
                    ConditionKind::Exists { value: None, .. }
                )
        });
    }
    Some(others)
}

/// Intersects positive ranges on one field into one literal, or `None` when empty.
fn intersect_ranges(ranges: &[Literal]) -> Option<Literal> {
    if let [single] = ranges {
        return Some(single.clone());
    }
    let mut field = String::new();
    let (mut lower, mut upper): (Option<Bound>, Option<Bound>) = (None, None);
    for literal in ranges {
        let ConditionKind::Range {
            field: f,
            lower: l,
            upper: u,
        } = literal.condition.kind()
        else {
            continue;
        };
        field.clone_from(f);
        lower = tighter(lower, *l, Ordering::Greater);
        upper = tighter(upper, *u, Ordering::Less);
    }
    if let (Some(l), Some(u)) = (lower, upper) {
        let empty = l.value > u.value || (l.value == u.value && !(l.inclusive && u.inclusive));
        if empty {
            return None;
        }
    }
    let condition = Condition::new(ConditionKind::Range {
        field,
        lower,
        upper,
    });
    Some(Literal::new(condition, false))
}

/// Returns the stricter bound: the larger value for lower bounds (`prefer` Greater), the
/// smaller for upper bounds; on equal values an exclusive bound is stricter.
fn tighter(current: Option<Bound>, candidate: Option<Bound>, prefer: Ordering) -> Option<Bound> {
    match (current, candidate) {
        (None, b) | (b, None) => b,
        (Some(a), Some(b)) => match b.value.partial_cmp(&a.value) {
            Some(order) if order == prefer => Some(b),
            Some(Ordering::Equal) if !b.inclusive => Some(b),
            _ => Some(a),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::json::stable_stringify;

    /// The payload written from condition keys must stay byte for byte the key-sorted JSON of
    /// the canonical form, or room ids would change.
    #[test]
    fn room_payload_is_sorted_json() {
        let filters = [
            json!({}),
            json!({"equals": {"a": "x\"y"}}),
            json!({"not": {"equals": {"a": 1.5}}}),
            json!({"exists": "a.b"}),
            json!({"missing": "a"}),
            json!({"exists": "tags[\"x\"]"}),
            json!({"range": {"n": {"gt": 1, "lte": 2}}}),
            json!({"not": {"range": {"n": {"gte": -3}}}}),
            json!({"regexp": {"s": {"value": "^a.*", "flags": "i"}}}),
            json!({"not": {"regexp": {"s": "b"}}}),
            json!({"geoBoundingBox": {"p": {"top": 1, "left": 0, "bottom": 0, "right": 1}}}),
            json!({"not": {"geoDistance": {"p": [1, 2], "distance": "1km"}}}),
            json!({"match": {"a": [1, 2], "b": {"c": true}}}),
            json!({"ids": {"values": ["a", "b"]}}),
            json!({"or": [{"equals": {"a": 1}}, {"and": [{"exists": "b"}, {"not": {"exists": "c"}}]}]}),
            json!({"and": [{"equals": {"a": 1}}, {"equals": {"a": 2}}]}),
            json!({"select": {"field": "list", "index": 0, "query": {"equals": {"value": 1}}}}),
        ];
        let options = ParseOptions {
            max_conditions: 100,
            max_subfilters: 4096,
        };
        for filter in filters {
            let normalized = Normalized::from_filter(&filter, options).unwrap();
            let expected = json!({"filter": normalized.to_json(), "index": "i/c\u{e9}"});
            let written = normalized.room_payload("i", "c\u{e9}");
            assert_eq!(
                String::from_utf8(written).unwrap(),
                stable_stringify(&expected),
                "{filter}"
            );
        }
    }
}
