//! A direct evaluator of queries on one JSON document, used where the search index cannot
//! evaluate alone (`nested` and geo clauses) and as the reference model in tests.

use serde_json::{Map, Value};

use super::geo::GeoPoint;
use super::{BoolQuery, Operator, Query, RangeBound};
use crate::error::{Result, StorageError};
use crate::mapping::{FieldType, IndexValue, Mapping};
use crate::query::date_math::Rounding;
use crate::query::value::{coerce, coerce_query};
use crate::value::values_at;

/// Name of the document id pseudo-field.
const ID: &str = "_id";

/// Maximum token length kept by the text analyzer, in bytes, as tantivy's default tokenizer.
const MAX_TOKEN_BYTES: usize = 40;

/// Splits text into lowercase alphanumeric tokens, as the `text` field analyzer does.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty() && token.len() < MAX_TOKEN_BYTES)
        .map(str::to_lowercase)
        .collect()
}

/// Returns whether a document matches a query.
///
/// # Errors
///
/// [`StorageError::UnknownQueryKeyword`] for clauses the evaluator does not implement
/// (`wildcard`, `regexp`, `match_phrase`, `multi_match`...), so a caller never gets a silently
/// wrong result.
pub fn matches(query: &Query, mapping: &Mapping, id: &str, source: &Value) -> Result<bool> {
    let matched = match query {
        Query::MatchAll => true,
        Query::MatchNone => false,
        Query::Term { field, value, .. } if field == ID => value.as_str() == Some(id),
        Query::Terms { field, values } if field == ID => {
            values.iter().any(|value| value.as_str() == Some(id))
        }
        Query::Prefix { field, value, .. } if field == ID => id.starts_with(value.as_str()),
        Query::Term {
            field,
            value,
            case_insensitive,
        } => term_matches(mapping, source, field, value, *case_insensitive),
        Query::Terms { field, values } => values
            .iter()
            .any(|value| term_matches(mapping, source, field, value, false)),
        Query::Range {
            field,
            lower,
            upper,
        } => range_matches(mapping, source, field, lower, upper),
        Query::Exists { field } => exists(mapping, source, field),
        Query::Ids { values } => values.iter().any(|value| value == id),
        Query::Prefix {
            field,
            value,
            case_insensitive,
        } => keyword_values(mapping, source, field).iter().any(|text| {
            if *case_insensitive {
                text.to_lowercase().starts_with(&value.to_lowercase())
            } else {
                text.starts_with(value.as_str())
            }
        }),
        Query::Match {
            field,
            text,
            operator,
            minimum_should_match: None,
        } => match_matches(mapping, source, field, text, *operator),
        Query::Bool(bool_query) => bool_matches(bool_query, mapping, id, source)?,
        Query::ConstantScore { filter: query, .. } | Query::Boost { query, .. } => {
            matches(query, mapping, id, source)?
        }
        Query::Nested { path, query } => nested_matches(path, query, mapping, id, source)?,
        Query::GeoDistance {
            field,
            center,
            distance_m,
        } => geo_points(mapping, source, field)
            .iter()
            .any(|p| p.distance_m(center) <= *distance_m),
        Query::GeoBoundingBox {
            field,
            top_left,
            bottom_right,
        } => geo_points(mapping, source, field)
            .iter()
            .any(|p| in_box(p, top_left, bottom_right)),
        Query::GeoPolygon { field, points } => geo_points(mapping, source, field)
            .iter()
            .any(|p| in_polygon(p, points)),
        other => {
            return Err(StorageError::unsupported(format!(
                "{} inside nested",
                clause_name(other)
            )));
        }
    };
    Ok(matched)
}

fn clause_name(query: &Query) -> &'static str {
    match query {
        Query::Wildcard { .. } => "wildcard",
        Query::Regexp { .. } => "regexp",
        Query::Match { .. } => "match.minimum_should_match",
        Query::MatchPhrase { .. } => "match_phrase",
        Query::MatchPhrasePrefix { .. } => "match_phrase_prefix",
        Query::MultiMatch { .. } => "multi_match",
        _ => "clause",
    }
}

fn typed_values(
    mapping: &Mapping,
    source: &Value,
    field: &str,
) -> (Option<FieldType>, Vec<IndexValue>) {
    let Some(field_type) = mapping.leaf_type(field) else {
        return (None, Vec::new());
    };
    let values = leaf_source_values(source, field, mapping)
        .into_iter()
        .filter_map(|value| coerce(field_type, value))
        .collect();
    (Some(field_type), values)
}

/// Finds the source values of a leaf path; a multi-field `a.raw` reads the values of `a`.
fn leaf_source_values<'a>(source: &'a Value, field: &str, mapping: &Mapping) -> Vec<&'a Value> {
    values_at(source, mapping.source_path(field))
}

fn keyword_values(mapping: &Mapping, source: &Value, field: &str) -> Vec<String> {
    match typed_values(mapping, source, field) {
        (Some(FieldType::Keyword), values) => values
            .into_iter()
            .filter_map(|value| match value {
                IndexValue::Str(text) => Some(text),
                _ => None,
            })
            .collect(),
        (Some(FieldType::Text), values) => values
            .into_iter()
            .flat_map(|value| match value {
                IndexValue::Str(text) => tokenize(&text),
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn term_matches(mapping: &Mapping, source: &Value, field: &str, value: &Value, ci: bool) -> bool {
    let (Some(field_type), values) = typed_values(mapping, source, field) else {
        return false;
    };
    if matches!(field_type, FieldType::Keyword | FieldType::Text) {
        let Some(IndexValue::Str(expected)) = coerce(field_type, value) else {
            return false;
        };
        let found = keyword_values(mapping, source, field);
        return found.iter().any(|text| {
            if ci {
                text.eq_ignore_ascii_case(&expected)
            } else {
                *text == expected
            }
        });
    }
    let Some(expected) = coerce(field_type, value) else {
        return false;
    };
    values.contains(&expected)
}

fn range_matches(
    mapping: &Mapping,
    source: &Value,
    field: &str,
    lower: &Option<RangeBound>,
    upper: &Option<RangeBound>,
) -> bool {
    let (Some(field_type), values) = typed_values(mapping, source, field) else {
        return false;
    };
    let bound = |bound: &Option<RangeBound>, is_lower: bool| match bound {
        None => Some(None),
        Some(RangeBound { value, inclusive }) => {
            let rounding = if *inclusive != is_lower {
                Rounding::Up
            } else {
                Rounding::Down
            };
            coerce_query(field_type, value, rounding).map(|typed| Some((typed, *inclusive)))
        }
    };
    let (Some(lower), Some(upper)) = (bound(lower, true), bound(upper, false)) else {
        return false;
    };
    values.iter().any(|value| {
        let above = lower.as_ref().is_none_or(|(low, inclusive)| {
            compare(value, low).is_some_and(|o| o.is_gt() || (*inclusive && o.is_eq()))
        });
        let below = upper.as_ref().is_none_or(|(high, inclusive)| {
            compare(value, high).is_some_and(|o| o.is_lt() || (*inclusive && o.is_eq()))
        });
        above && below
    })
}

fn compare(left: &IndexValue, right: &IndexValue) -> Option<std::cmp::Ordering> {
    match (left, right) {
        (IndexValue::I64(a), IndexValue::I64(b)) | (IndexValue::Date(a), IndexValue::Date(b)) => {
            Some(a.cmp(b))
        }
        (IndexValue::F64(a), IndexValue::F64(b)) => a.partial_cmp(b),
        (IndexValue::Str(a), IndexValue::Str(b)) => Some(a.cmp(b)),
        (IndexValue::Bool(a), IndexValue::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn exists(mapping: &Mapping, source: &Value, field: &str) -> bool {
    match mapping.lookup(field) {
        None => false,
        Some(mapped) if mapped.field_type.is_container() => {
            values_at(source, field).iter().any(|value| match value {
                Value::Object(object) => object.keys().any(|key| {
                    let child = format!("{field}.{key}");
                    exists(mapping, source, &child)
                }),
                _ => false,
            })
        }
        Some(_) => !typed_values(mapping, source, field).1.is_empty(),
    }
}

fn match_matches(
    mapping: &Mapping,
    source: &Value,
    field: &str,
    text: &Value,
    operator: Operator,
) -> bool {
    match mapping.leaf_type(field) {
        Some(FieldType::Text) => {
            let Some(IndexValue::Str(query)) = coerce(FieldType::Text, text) else {
                return false;
            };
            let expected = tokenize(&query);
            let found = keyword_values(mapping, source, field);
            let hit = |token: &String| found.contains(token);
            match operator {
                Operator::And => !expected.is_empty() && expected.iter().all(hit),
                Operator::Or => expected.iter().any(hit),
            }
        }
        Some(_) => term_matches(mapping, source, field, text, false),
        None => false,
    }
}

fn bool_matches(query: &BoolQuery, mapping: &Mapping, id: &str, source: &Value) -> Result<bool> {
    for clause in query.must.iter().chain(&query.filter) {
        if !matches(clause, mapping, id, source)? {
            return Ok(false);
        }
    }
    for clause in &query.must_not {
        if matches(clause, mapping, id, source)? {
            return Ok(false);
        }
    }
    let required = query.required_should();
    let mut matched = 0;
    for clause in &query.should {
        if matched >= required {
            break;
        }
        if matches(clause, mapping, id, source)? {
            matched += 1;
        }
    }
    Ok(matched >= required)
}

/// Evaluates the inner query on each element of the nested array on its own, so conditions on
/// two fields must hold in the same element.
fn nested_matches(
    path: &str,
    query: &Query,
    mapping: &Mapping,
    id: &str,
    source: &Value,
) -> Result<bool> {
    for element in values_at(source, path) {
        let mut wrapped = element.clone();
        for segment in path.rsplit('.') {
            let mut object = Map::new();
            object.insert(segment.to_owned(), wrapped);
            wrapped = Value::Object(object);
        }
        if matches(query, mapping, id, &wrapped)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn geo_points(mapping: &Mapping, source: &Value, field: &str) -> Vec<GeoPoint> {
    if mapping.leaf_type(field) != Some(FieldType::GeoPoint) {
        return Vec::new();
    }
    let mut points = Vec::new();
    collect_points(source, field, &mut points);
    points
}

fn collect_points(source: &Value, field: &str, out: &mut Vec<GeoPoint>) {
    let (head, rest) = match field.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (field, None),
    };
    let children: Vec<&Value> = match source {
        Value::Array(items) => items.iter().filter_map(|item| item.get(head)).collect(),
        other => other.get(head).into_iter().collect(),
    };
    for child in children {
        match rest {
            Some(rest) => collect_points(child, rest, out),
            None => match GeoPoint::parse(child) {
                Some(point) => out.push(point),
                None => {
                    if let Value::Array(items) = child {
                        out.extend(items.iter().filter_map(GeoPoint::parse));
                    }
                }
            },
        }
    }
}

fn in_box(point: &GeoPoint, top_left: &GeoPoint, bottom_right: &GeoPoint) -> bool {
    let lat_ok = point.lat <= top_left.lat && point.lat >= bottom_right.lat;
    let lon_ok = if top_left.lon <= bottom_right.lon {
        point.lon >= top_left.lon && point.lon <= bottom_right.lon
    } else {
        // The box crosses the antimeridian.
        point.lon >= top_left.lon || point.lon <= bottom_right.lon
    };
    lat_ok && lon_ok
}

/// Ray casting on the plane of latitude and longitude, as Elasticsearch's `geo_polygon` did.
fn in_polygon(point: &GeoPoint, polygon: &[GeoPoint]) -> bool {
    let mut inside = false;
    let mut previous = polygon[polygon.len() - 1];
    for current in polygon {
        let crosses = (current.lat > point.lat) != (previous.lat > point.lat);
        if crosses {
            let lon_at = (previous.lon - current.lon) * (point.lat - current.lat)
                / (previous.lat - current.lat)
                + current.lon;
            if point.lon < lon_at {
                inside = !inside;
            }
        }
        previous = *current;
    }
    inside
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::query::parse_query;

    fn check(query: Value, source: Value) -> bool {
        let mapping = Mapping::parse(&json!({"properties": {
            "name": {"type": "keyword"},
            "bio": {"type": "text"},
            "age": {"type": "integer"},
            "loc": {"type": "geo_point"},
            "kids": {"type": "nested", "properties": {
                "name": {"type": "keyword"}, "age": {"type": "integer"}
            }}
        }}))
        .unwrap();
        matches(&parse_query(&query).unwrap(), &mapping, "id1", &source).unwrap()
    }

    #[test]
    fn nested_needs_same_element() {
        let doc = json!({"kids": [{"name": "a", "age": 3}, {"name": "b", "age": 9}]});
        let same = json!({"nested": {"path": "kids", "query": {"bool": {"filter": [
            {"term": {"kids.name": "a"}}, {"range": {"kids.age": {"lt": 5}}}]}}}});
        let cross = json!({"nested": {"path": "kids", "query": {"bool": {"filter": [
            {"term": {"kids.name": "a"}}, {"range": {"kids.age": {"gt": 5}}}]}}}});
        assert!(check(same, doc.clone()));
        assert!(!check(cross, doc));
    }

    #[test]
    fn geo_clauses_evaluate() {
        let doc = json!({"loc": {"lat": 48.8566, "lon": 2.3522}});
        assert!(check(
            json!({"geo_distance": {"loc": "48.85,2.35", "distance": "2km"}}),
            doc.clone()
        ));
        assert!(!check(
            json!({"geo_distance": {"loc": "51.5,-0.12", "distance": "2km"}}),
            doc.clone()
        ));
        let inside =
            json!({"geo_bounding_box": {"loc": {"top": 49, "left": 2, "bottom": 48, "right": 3}}});
        assert!(check(inside, doc.clone()));
        let polygon =
            json!({"geo_polygon": {"loc": {"points": [[2, 48], [3, 48], [3, 49], [2, 49]]}}});
        assert!(check(polygon, doc));
    }

    #[test]
    fn text_terms_are_tokens() {
        let doc = json!({"bio": "Loves Rust and Go"});
        assert!(check(json!({"term": {"bio": "rust"}}), doc.clone()));
        assert!(!check(json!({"term": {"bio": "Rust"}}), doc.clone()));
        assert!(check(
            json!({"match": {"bio": {"query": "rust go", "operator": "and"}}}),
            doc
        ));
    }
}
