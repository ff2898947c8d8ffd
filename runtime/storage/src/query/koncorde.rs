//! Translation of Koncorde filters (`lang=koncorde`) into Elasticsearch query clauses.

use serde_json::{Map, Value, json};

use super::geo::GeoPoint;
use crate::error::{Result, StorageError};

/// Koncorde keywords that have no storage translation.
const RESTRICTED: &[&str] = &["bool", "regexp", "match", "select"];

/// Translates a Koncorde filter into an Elasticsearch query clause.
///
/// `equals` becomes `term`, `in` becomes `terms`, `missing` a negated `exists`, `and`/`or`/`not`
/// become `bool` filter/should/must_not, and the geo keywords their `geo_*` counterparts with
/// points rewritten as `{lat, lon}` (Koncorde arrays are `[lat, lon]`, Elasticsearch's
/// `[lon, lat]`).
///
/// # Errors
///
/// [`StorageError::KoncordeRestrictedKeyword`] for `bool`, `regexp`, `match` and `select`,
/// [`StorageError::KoncordeDslError`] for a malformed filter.
pub fn translate(filter: &Value) -> Result<Value> {
    let Some(map) = filter.as_object() else {
        return Err(dsl_error(format!(
            "a filter must be an object, got {filter}"
        )));
    };
    if map.is_empty() {
        return Ok(json!({"match_all": {}}));
    }
    if map.len() != 1 {
        return Err(dsl_error(
            "a filter must have exactly one keyword".to_owned(),
        ));
    }
    let (keyword, body) = map.iter().next().expect("length checked above");
    if RESTRICTED.contains(&keyword.as_str()) {
        return Err(StorageError::KoncordeRestrictedKeyword {
            keyword: keyword.clone(),
        });
    }
    match keyword.as_str() {
        "equals" => Ok(json!({"term": single_field(body, "equals")?})),
        "in" => Ok(json!({"terms": single_field(body, "in")?})),
        "exists" => Ok(exists(body)?),
        "missing" => Ok(json!({"bool": {"must_not": [exists(body)?]}})),
        "range" => Ok(json!({"range": single_field(body, "range")?})),
        "ids" => Ok(json!({"ids": body})),
        "nothing" => Ok(json!({"match_none": {}})),
        "and" => Ok(json!({"bool": {"filter": translate_all(body, "and")?}})),
        "or" => {
            Ok(json!({"bool": {"should": translate_all(body, "or")?, "minimum_should_match": 1}}))
        }
        "not" => Ok(json!({"bool": {"must_not": [translate(body)?]}})),
        "geoBoundingBox" => geo_bounding_box(body),
        "geoDistance" => geo_distance(body),
        "geoDistanceRange" => geo_distance_range(body),
        "geoPolygon" => geo_polygon(body),
        other => Err(dsl_error(format!("unknown keyword `{other}`"))),
    }
}

fn dsl_error(reason: String) -> StorageError {
    StorageError::KoncordeDslError { reason }
}

fn single_field(body: &Value, keyword: &str) -> Result<Value> {
    match body.as_object() {
        Some(map) if map.len() == 1 => Ok(body.clone()),
        _ => Err(dsl_error(format!(
            "`{keyword}` must name exactly one field"
        ))),
    }
}

fn translate_all(body: &Value, keyword: &str) -> Result<Vec<Value>> {
    match body.as_array() {
        Some(filters) if !filters.is_empty() => filters.iter().map(translate).collect(),
        _ => Err(dsl_error(format!(
            "`{keyword}` requires a non-empty array of filters"
        ))),
    }
}

fn exists(body: &Value) -> Result<Value> {
    let field = match body {
        Value::String(field) => field.clone(),
        Value::Object(map) => map
            .get("field")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| dsl_error("`exists` requires a field".to_owned()))?,
        _ => return Err(dsl_error("`exists` requires a field".to_owned())),
    };
    // `arr["value"]` tests whether an array contains a value.
    if let Some((name, rest)) = field.split_once('[') {
        let inner = rest
            .strip_suffix(']')
            .ok_or_else(|| dsl_error(format!("invalid array syntax in `{field}`")))?;
        let value: Value = serde_json::from_str(inner)
            .map_err(|_| dsl_error(format!("invalid array value in `{field}`")))?;
        return Ok(json!({"term": {name: value}}));
    }
    Ok(json!({"exists": {"field": field}}))
}

/// Parses a Koncorde geo point, where an array is `[lat, lon]`.
fn point(value: &Value) -> Result<Value> {
    let parsed = match value {
        Value::Array(items) if items.len() == 2 => {
            GeoPoint::parse(&json!({"lat": items[0], "lon": items[1]}))
        }
        Value::Object(map) => match map.get("latLon").or_else(|| map.get("lat_lon")) {
            Some(inner) => return point(inner),
            None => GeoPoint::parse(value),
        },
        other => GeoPoint::parse(other),
    };
    let parsed = parsed.ok_or_else(|| dsl_error(format!("invalid geo point {value}")))?;
    Ok(json!({"lat": parsed.lat, "lon": parsed.lon}))
}

fn field_and_options<'a>(
    body: &'a Value,
    keyword: &str,
    options: &[&str],
) -> Result<(&'a String, &'a Value, &'a Map<String, Value>)> {
    let map = body
        .as_object()
        .ok_or_else(|| dsl_error(format!("`{keyword}` must be an object")))?;
    let mut fields = map
        .iter()
        .filter(|(key, _)| !options.contains(&key.as_str()));
    match (fields.next(), fields.next()) {
        (Some((field, value)), None) => Ok((field, value, map)),
        _ => Err(dsl_error(format!(
            "`{keyword}` must name exactly one field"
        ))),
    }
}

fn geo_bounding_box(body: &Value) -> Result<Value> {
    let (field, corners, _) = field_and_options(body, "geoBoundingBox", &[])?;
    let corner = |names: [&str; 2]| names.iter().find_map(|name| corners.get(*name));
    let box_value = match (
        corner(["topLeft", "top_left"]),
        corner(["bottomRight", "bottom_right"]),
    ) {
        (Some(top_left), Some(bottom_right)) => {
            json!({"top_left": point(top_left)?, "bottom_right": point(bottom_right)?})
        }
        _ => corners.clone(),
    };
    Ok(json!({"geo_bounding_box": {field: box_value}}))
}

fn distance_clause(field: &str, center: &Value, distance: &Value) -> Value {
    json!({"geo_distance": {field: center, "distance": distance}})
}

fn geo_distance(body: &Value) -> Result<Value> {
    let (field, center, map) = field_and_options(body, "geoDistance", &["distance"])?;
    let distance = map
        .get("distance")
        .ok_or_else(|| dsl_error("`geoDistance` requires `distance`".to_owned()))?;
    Ok(distance_clause(field, &point(center)?, distance))
}

fn geo_distance_range(body: &Value) -> Result<Value> {
    let (field, center, map) = field_and_options(body, "geoDistanceRange", &["from", "to"])?;
    let (Some(from), Some(to)) = (map.get("from"), map.get("to")) else {
        return Err(dsl_error(
            "`geoDistanceRange` requires `from` and `to`".to_owned(),
        ));
    };
    let center = point(center)?;
    Ok(json!({"bool": {
        "filter": [distance_clause(field, &center, to)],
        "must_not": [distance_clause(field, &center, from)]
    }}))
}

fn geo_polygon(body: &Value) -> Result<Value> {
    let (field, polygon, _) = field_and_options(body, "geoPolygon", &[])?;
    let points = polygon
        .get("points")
        .and_then(Value::as_array)
        .filter(|points| points.len() >= 3)
        .ok_or_else(|| dsl_error("`geoPolygon` requires at least 3 points".to_owned()))?;
    let points = points.iter().map(point).collect::<Result<Vec<_>>>()?;
    Ok(json!({"geo_polygon": {field: {"points": points}}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_boolean_tree() {
        let filter = json!({"and": [
            {"equals": {"a": 1}},
            {"or": [{"in": {"b": ["x"]}}, {"missing": "c"}]},
            {"not": {"range": {"d": {"gt": 3}}}}
        ]});
        let expected = json!({"bool": {"filter": [
            {"term": {"a": 1}},
            {"bool": {"should": [
                {"terms": {"b": ["x"]}},
                {"bool": {"must_not": [{"exists": {"field": "c"}}]}}
            ], "minimum_should_match": 1}},
            {"bool": {"must_not": [{"range": {"d": {"gt": 3}}}]}}
        ]}});
        assert_eq!(translate(&filter).unwrap(), expected);
    }

    #[test]
    fn geo_points_become_lat_lon() {
        let filter = json!({"geoDistance": {"loc": [43.6, 3.9], "distance": "1km"}});
        let expected =
            json!({"geo_distance": {"loc": {"lat": 43.6, "lon": 3.9}, "distance": "1km"}});
        assert_eq!(translate(&filter).unwrap(), expected);
    }

    #[test]
    fn restricted_keywords_rejected() {
        for keyword in RESTRICTED {
            let error = translate(&json!({*keyword: {}})).unwrap_err();
            assert_eq!(error.kuzzle_id(), "api.assert.koncorde_restricted_keyword");
            assert_eq!(error.props().last(), Some(&(*keyword).to_owned()));
        }
    }

    #[test]
    fn malformed_filters_rejected() {
        let cases = [
            json!({"equals": {"a": 1, "b": 2}}),
            json!({"and": []}),
            json!({"or": {}}),
            json!({"unknown": {}}),
            json!({"equals": {"a": 1}, "in": {"b": ["x"]}}),
            json!({"geoDistance": {"loc": [0, 0]}}),
            json!({"geoPolygon": {"loc": {"points": [[0, 0], [1, 1]]}}}),
            json!({"exists": "arr[unterminated"}),
            json!("equals"),
        ];
        for filter in cases {
            let error = translate(&filter).unwrap_err();
            assert_eq!(
                error.kuzzle_id(),
                "api.assert.koncorde_dsl_error",
                "{filter}"
            );
        }
    }
}
