//! Parsing of query clauses (`term`, `range`, `bool`, `match`...) into [`Query`].

use serde_json::{Map, Value};

use super::geo::{GeoPoint, parse_distance_m};
use super::{BoolQuery, MinimumShouldMatch, Operator, Query, RangeBound, query_string};
use crate::error::{Result, StorageError};

/// Parses one clause object, such as `{"term": {"a": 1}}`.
pub(super) fn parse(value: &Value) -> Result<Query> {
    let map = value
        .as_object()
        .ok_or_else(|| StorageError::query(format!("a query clause must be an object: {value}")))?;
    if map.len() != 1 {
        let keys: Vec<_> = map.keys().map(String::as_str).collect();
        return Err(StorageError::query(format!(
            "a query clause must have exactly one key, found [{}]",
            keys.join(", ")
        )));
    }
    let (name, body) = map.iter().next().expect("length checked above");
    match name.as_str() {
        "match_all" => with_boost(Query::MatchAll, body),
        "match_none" => Ok(Query::MatchNone),
        "term" => parse_term(body),
        "terms" => parse_terms(body),
        "range" => parse_range(body),
        "exists" => Ok(Query::Exists {
            field: string_param(body, "field", "exists")?,
        }),
        "ids" => parse_ids(body),
        "prefix" => parse_prefix(body),
        "wildcard" => parse_wildcard(body),
        "regexp" => parse_regexp(body),
        "match" => parse_match(body),
        "match_phrase" => parse_match_phrase(body, false),
        "match_phrase_prefix" => parse_match_phrase(body, true),
        "multi_match" => parse_multi_match(body),
        "query_string" => query_string::parse(body),
        "bool" => parse_bool(body),
        "constant_score" => parse_constant_score(body),
        "nested" => parse_nested(body),
        "geo_distance" => parse_geo_distance(body),
        "geo_bounding_box" => parse_geo_bounding_box(body),
        "geo_polygon" => parse_geo_polygon(body),
        other => Err(StorageError::unsupported(other)),
    }
}

fn object<'a>(value: &'a Value, clause: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| StorageError::query(format!("`{clause}` must be an object")))
}

/// Splits `{field: params}` clauses, where params may be a bare value or an object.
fn single_field<'a>(value: &'a Value, clause: &str) -> Result<(&'a String, &'a Value)> {
    let map = object(value, clause)?;
    let mut fields = map.iter().filter(|(key, _)| key.as_str() != "boost");
    match (fields.next(), fields.next()) {
        (Some(entry), None) => Ok(entry),
        _ => Err(StorageError::query(format!(
            "`{clause}` must name exactly one field"
        ))),
    }
}

fn string_param(value: &Value, key: &str, clause: &str) -> Result<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StorageError::query(format!("`{clause}` requires a string `{key}`")))
}

fn boost_of(params: &Value) -> Result<Option<f32>> {
    match params.get("boost") {
        None => Ok(None),
        Some(value) => value
            .as_f64()
            .map(|boost| Some(boost as f32))
            .ok_or_else(|| StorageError::query("`boost` must be a number")),
    }
}

fn with_boost(query: Query, params: &Value) -> Result<Query> {
    match boost_of(params)? {
        Some(boost) if boost != 1.0 => Ok(Query::Boost {
            query: Box::new(query),
            boost,
        }),
        _ => Ok(query),
    }
}

fn case_insensitive(params: &Value) -> bool {
    params
        .get("case_insensitive")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn parse_term(body: &Value) -> Result<Query> {
    let (field, params) = single_field(body, "term")?;
    let value = match params {
        Value::Object(map) => map
            .get("value")
            .cloned()
            .ok_or_else(|| StorageError::query(format!("`term` on `{field}` requires `value`")))?,
        other => other.clone(),
    };
    if value.is_object() || value.is_array() || value.is_null() {
        return Err(StorageError::query(format!(
            "`term` on `{field}` needs a scalar value"
        )));
    }
    let query = Query::Term {
        field: field.clone(),
        value,
        case_insensitive: case_insensitive(params),
    };
    with_boost(query, params)
}

fn parse_terms(body: &Value) -> Result<Query> {
    let (field, values) = single_field(body, "terms")?;
    let Value::Array(values) = values else {
        return Err(StorageError::query(format!(
            "`terms` on `{field}` requires an array"
        )));
    };
    let query = Query::Terms {
        field: field.clone(),
        values: values.clone(),
    };
    with_boost(query, body)
}

fn parse_range(body: &Value) -> Result<Query> {
    let (field, params) = single_field(body, "range")?;
    let params = object(params, "range")?;
    let (mut lower, mut upper) = (None, None);
    for (key, value) in params {
        let bound = Some(RangeBound {
            value: value.clone(),
            inclusive: key.ends_with('e'),
        });
        match key.as_str() {
            "gt" | "gte" | "from" => lower = bound,
            "lt" | "lte" | "to" => upper = bound,
            "boost" | "format" => {}
            "time_zone" | "relation" => {
                return Err(StorageError::unsupported(format!("range.{key}")));
            }
            other => {
                return Err(StorageError::query(format!(
                    "unknown `range` parameter `{other}`"
                )));
            }
        }
    }
    // `from` and `to` are inclusive, unlike the `gt`/`lt` spellings they share a letter with.
    if params.contains_key("from")
        && let Some(bound) = lower.as_mut()
    {
        bound.inclusive = true;
    }
    if params.contains_key("to")
        && let Some(bound) = upper.as_mut()
    {
        bound.inclusive = true;
    }
    Ok(Query::Range {
        field: field.clone(),
        lower,
        upper,
    })
}

fn parse_ids(body: &Value) -> Result<Query> {
    let values = body
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| StorageError::query("`ids` requires a `values` array"))?;
    let values = values
        .iter()
        .map(|id| id.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| StorageError::query("`ids.values` must hold strings"))?;
    Ok(Query::Ids { values })
}

fn text_value(params: &Value, key: &str, clause: &str, field: &str) -> Result<String> {
    let value = match params {
        Value::Object(map) => map.get(key),
        other => Some(other),
    };
    match value {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Number(number)) => Ok(number.to_string()),
        Some(Value::Bool(flag)) => Ok(flag.to_string()),
        _ => Err(StorageError::query(format!(
            "`{clause}` on `{field}` requires a string `{key}`"
        ))),
    }
}

fn parse_prefix(body: &Value) -> Result<Query> {
    let (field, params) = single_field(body, "prefix")?;
    let value = text_value(params, "value", "prefix", field)?;
    let case_insensitive = case_insensitive(params);
    Ok(Query::Prefix {
        field: field.clone(),
        value,
        case_insensitive,
    })
}

fn parse_wildcard(body: &Value) -> Result<Query> {
    let (field, params) = single_field(body, "wildcard")?;
    let key = if params.get("wildcard").is_some() {
        "wildcard"
    } else {
        "value"
    };
    let pattern = text_value(params, key, "wildcard", field)?;
    let case_insensitive = case_insensitive(params);
    Ok(Query::Wildcard {
        field: field.clone(),
        pattern,
        case_insensitive,
    })
}

fn parse_regexp(body: &Value) -> Result<Query> {
    let (field, params) = single_field(body, "regexp")?;
    if params
        .get("flags")
        .is_some_and(|flags| flags != "ALL" && flags != "NONE")
    {
        return Err(StorageError::unsupported("regexp.flags"));
    }
    let pattern = text_value(params, "value", "regexp", field)?;
    Ok(Query::Regexp {
        field: field.clone(),
        pattern,
    })
}

fn parse_operator(params: &Value) -> Result<Operator> {
    match params
        .get("operator")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
    {
        None => Ok(Operator::Or),
        Some(operator) if operator == "or" => Ok(Operator::Or),
        Some(operator) if operator == "and" => Ok(Operator::And),
        Some(other) => Err(StorageError::query(format!("unknown operator `{other}`"))),
    }
}

pub(super) fn parse_minimum_should_match(
    value: Option<&Value>,
) -> Result<Option<MinimumShouldMatch>> {
    let parsed = match value {
        None => return Ok(None),
        Some(Value::Number(number)) => number.as_i64().map(MinimumShouldMatch::Count),
        Some(Value::String(text)) => match text.trim().strip_suffix('%') {
            Some(percent) => percent.trim().parse().ok().map(MinimumShouldMatch::Percent),
            None => text.trim().parse().ok().map(MinimumShouldMatch::Count),
        },
        Some(_) => None,
    };
    match parsed {
        Some(minimum) => Ok(Some(minimum)),
        None => Err(StorageError::unsupported(format!(
            "minimum_should_match: {}",
            value.map(Value::to_string).unwrap_or_default()
        ))),
    }
}

fn parse_match(body: &Value) -> Result<Query> {
    let (field, params) = single_field(body, "match")?;
    let text = match params {
        Value::Object(map) => map
            .get("query")
            .cloned()
            .ok_or_else(|| StorageError::query(format!("`match` on `{field}` requires `query`")))?,
        other => other.clone(),
    };
    for unsupported in [
        "fuzziness",
        "analyzer",
        "zero_terms_query",
        "cutoff_frequency",
    ] {
        if params.get(unsupported).is_some() {
            return Err(StorageError::unsupported(format!("match.{unsupported}")));
        }
    }
    let query = Query::Match {
        field: field.clone(),
        text,
        operator: parse_operator(params)?,
        minimum_should_match: parse_minimum_should_match(params.get("minimum_should_match"))?,
    };
    with_boost(query, params)
}

fn parse_match_phrase(body: &Value, prefix: bool) -> Result<Query> {
    let clause = if prefix {
        "match_phrase_prefix"
    } else {
        "match_phrase"
    };
    let (field, params) = single_field(body, clause)?;
    let text = text_value(params, "query", clause, field)?;
    let field = field.clone();
    if prefix {
        return Ok(Query::MatchPhrasePrefix { field, text });
    }
    let slop = params.get("slop").and_then(Value::as_u64).unwrap_or(0) as u32;
    with_boost(Query::MatchPhrase { field, text, slop }, params)
}

fn parse_multi_match(body: &Value) -> Result<Query> {
    let text = body
        .get("query")
        .cloned()
        .ok_or_else(|| StorageError::query("`multi_match` requires `query`"))?;
    let fields: Vec<String> = body
        .get("fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        return Err(StorageError::query(
            "`multi_match` requires a non-empty `fields` array",
        ));
    }
    if fields
        .iter()
        .any(|field: &String| field.contains('^') || field.contains('*'))
    {
        return Err(StorageError::unsupported(
            "multi_match.fields with boosts or wildcards",
        ));
    }
    let phrase = match body.get("type").and_then(Value::as_str) {
        None | Some("best_fields") => false,
        Some("phrase") => true,
        Some(other) => {
            return Err(StorageError::unsupported(format!(
                "multi_match.type: {other}"
            )));
        }
    };
    Ok(Query::MultiMatch {
        fields,
        text,
        operator: parse_operator(body)?,
        phrase,
    })
}

fn clause_list(value: Option<&Value>) -> Result<Vec<Query>> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(parse).collect(),
        Some(single) => Ok(vec![parse(single)?]),
    }
}

fn parse_bool(body: &Value) -> Result<Query> {
    let map = object(body, "bool")?;
    for key in map.keys() {
        let known = [
            "must",
            "filter",
            "should",
            "must_not",
            "minimum_should_match",
            "boost",
        ];
        if !known.contains(&key.as_str()) {
            return Err(StorageError::query(format!(
                "unknown `bool` parameter `{key}`"
            )));
        }
    }
    let query = Query::Bool(BoolQuery {
        must: clause_list(map.get("must"))?,
        filter: clause_list(map.get("filter"))?,
        should: clause_list(map.get("should"))?,
        must_not: clause_list(map.get("must_not"))?,
        minimum_should_match: parse_minimum_should_match(map.get("minimum_should_match"))?,
    });
    with_boost(query, body)
}

fn parse_constant_score(body: &Value) -> Result<Query> {
    let filter = body
        .get("filter")
        .ok_or_else(|| StorageError::query("`constant_score` requires `filter`"))?;
    let boost = boost_of(body)?.unwrap_or(1.0);
    Ok(Query::ConstantScore {
        filter: Box::new(parse(filter)?),
        boost,
    })
}

fn parse_nested(body: &Value) -> Result<Query> {
    let path = string_param(body, "path", "nested")?;
    let query = body
        .get("query")
        .ok_or_else(|| StorageError::query("`nested` requires `query`"))?;
    if body.get("inner_hits").is_some() {
        return Err(StorageError::unsupported("nested.inner_hits"));
    }
    Ok(Query::Nested {
        path,
        query: Box::new(parse(query)?),
    })
}

fn geo_point(value: &Value, clause: &str) -> Result<GeoPoint> {
    GeoPoint::parse(value)
        .ok_or_else(|| StorageError::query(format!("invalid geo point for {clause}: {value}")))
}

fn geo_field<'a>(
    map: &'a Map<String, Value>,
    clause: &str,
    options: &[&str],
) -> Result<(&'a String, &'a Value)> {
    let mut fields = map
        .iter()
        .filter(|(key, _)| !options.contains(&key.as_str()));
    match (fields.next(), fields.next()) {
        (Some(entry), None) => Ok(entry),
        _ => Err(StorageError::query(format!(
            "`{clause}` must name exactly one field"
        ))),
    }
}

fn parse_geo_distance(body: &Value) -> Result<Query> {
    let map = object(body, "geo_distance")?;
    let options = [
        "distance",
        "distance_type",
        "validation_method",
        "boost",
        "_name",
    ];
    let (field, center) = geo_field(map, "geo_distance", &options)?;
    let distance = map
        .get("distance")
        .ok_or_else(|| StorageError::query("`geo_distance` requires `distance`"))?;
    let distance_m = parse_distance_m(distance)
        .ok_or_else(|| StorageError::query(format!("invalid distance {distance}")))?;
    let center = geo_point(center, "geo_distance")?;
    Ok(Query::GeoDistance {
        field: field.clone(),
        center,
        distance_m,
    })
}

fn parse_geo_bounding_box(body: &Value) -> Result<Query> {
    let map = object(body, "geo_bounding_box")?;
    let options = ["validation_method", "boost", "_name", "type"];
    let (field, corners) = geo_field(map, "geo_bounding_box", &options)?;
    let corner = |names: [&str; 2]| names.iter().find_map(|name| corners.get(*name));
    let (top_left, bottom_right) = match (
        corner(["top_left", "topLeft"]),
        corner(["bottom_right", "bottomRight"]),
    ) {
        (Some(top_left), Some(bottom_right)) => (
            geo_point(top_left, "top_left")?,
            geo_point(bottom_right, "bottom_right")?,
        ),
        _ => {
            let side = |name: &str| {
                corners
                    .get(name)
                    .and_then(super::value::as_f64)
                    .ok_or_else(|| {
                        StorageError::query(format!(
                            "`geo_bounding_box` on `{field}` requires `{name}`"
                        ))
                    })
            };
            let (top, left) = (side("top")?, side("left")?);
            let (bottom, right) = (side("bottom")?, side("right")?);
            (
                GeoPoint {
                    lat: top,
                    lon: left,
                },
                GeoPoint {
                    lat: bottom,
                    lon: right,
                },
            )
        }
    };
    Ok(Query::GeoBoundingBox {
        field: field.clone(),
        top_left,
        bottom_right,
    })
}

fn parse_geo_polygon(body: &Value) -> Result<Query> {
    let map = object(body, "geo_polygon")?;
    let (field, polygon) = geo_field(map, "geo_polygon", &["validation_method", "boost", "_name"])?;
    let points = polygon
        .get("points")
        .and_then(Value::as_array)
        .filter(|points| points.len() >= 3)
        .ok_or_else(|| StorageError::query("`geo_polygon` requires at least 3 `points`"))?;
    let points = points
        .iter()
        .map(|p| geo_point(p, "geo_polygon"))
        .collect::<Result<_>>()?;
    Ok(Query::GeoPolygon {
        field: field.clone(),
        points,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn clauses_parse() {
        let query = parse(&json!({"bool": {
            "must": {"match": {"title": {"query": "rust book", "operator": "and"}}},
            "filter": [{"range": {"price": {"gte": 10, "lt": 20}}}],
            "should": [{"term": {"tag": "new"}}],
            "must_not": [{"exists": {"field": "deleted"}}],
            "minimum_should_match": "50%"
        }}))
        .unwrap();
        let Query::Bool(bool_query) = query else {
            panic!("not a bool: {query:?}")
        };
        assert_eq!(bool_query.must.len(), 1);
        assert_eq!(bool_query.required_should(), 0);
        let Query::Range { lower, upper, .. } = &bool_query.filter[0] else {
            panic!()
        };
        assert!(lower.as_ref().unwrap().inclusive);
        assert!(!upper.as_ref().unwrap().inclusive);
    }

    #[test]
    fn unknown_clause_is_named() {
        let error = parse(&json!({"more_like_this": {}})).unwrap_err();
        assert_eq!(error.props(), vec!["more_like_this".to_owned()]);
        assert_eq!(error.kuzzle_id(), "services.storage.unknown_query_keyword");
    }

    #[test]
    fn geo_clauses_parse() {
        let query =
            parse(&json!({"geo_distance": {"distance": "1km", "loc": {"lat": 1, "lon": 2}}}));
        assert!(matches!(query, Ok(Query::GeoDistance { distance_m, .. }) if distance_m == 1000.0));
        let query = parse(
            &json!({"geo_bounding_box": {"loc": {"top": 2, "left": 1, "bottom": 0, "right": 3}}}),
        );
        assert!(matches!(query, Ok(Query::GeoBoundingBox { .. })));
    }

    #[test]
    fn minimum_should_match_resolves() {
        assert_eq!(MinimumShouldMatch::Count(-1).resolve(3), 2);
        assert_eq!(MinimumShouldMatch::Percent(50.0).resolve(3), 1);
        assert_eq!(MinimumShouldMatch::Percent(-25.0).resolve(4), 3);
        assert_eq!(MinimumShouldMatch::Count(9).resolve(2), 2);
    }
}
