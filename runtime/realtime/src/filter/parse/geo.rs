//! Parsing of the geo keywords: `geoBoundingBox`, `geoDistance`, `geoDistanceRange` and
//! `geoPolygon`.

use serde_json::{Map, Value};

use super::{Expr, invalid, join, leaf, object, single_field};
use crate::error::{RealtimeError, Result};
use crate::filter::condition::ConditionKind;
use crate::geo::{GeoPoint, GeoShape, Polygon, parse_distance, parse_float, parse_geopoint};

pub(super) fn geo_bounding_box(value: &Value, path: &str) -> Result<Expr> {
    let (field, spec) = single_field(value, path)?;
    let field_path = join(Some(path), field);
    let unrecognized = || {
        RealtimeError::invalid(
            &field_path,
            format!(
                "unrecognized bounding box `{spec}`: expected {{top, left, bottom, right}} or \
                 {{topLeft, bottomRight}} geopoints"
            ),
        )
    };
    let map = object(spec, &field_path, None)?;
    let get = |camel: &str, snake: &str| map.get(camel).or_else(|| map.get(snake));

    let sides: Option<Vec<f64>> = ["top", "left", "bottom", "right"]
        .iter()
        .map(|side| match map.get(*side) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => parse_float(s),
            _ => None,
        })
        .collect();

    let sides = sides.filter(|sides| sides.iter().all(|side| side.is_finite()));
    let shape = if let Some(sides) = sides {
        GeoShape::BoundingBox {
            top: sides[0],
            left: sides[1],
            bottom: sides[2],
            right: sides[3],
        }
    } else {
        let top_left = get("topLeft", "top_left").and_then(parse_finite_geopoint);
        let bottom_right = get("bottomRight", "bottom_right").and_then(parse_finite_geopoint);
        let (Some(top_left), Some(bottom_right)) = (top_left, bottom_right) else {
            return Err(unrecognized());
        };
        GeoShape::BoundingBox {
            top: top_left.lat,
            left: top_left.lon,
            bottom: bottom_right.lat,
            right: bottom_right.lon,
        }
    };
    Ok(geo_leaf(field, shape))
}

/// Parses a geopoint of a filter, which must have finite coordinates: shapes at infinity would
/// poison the spatial index.
fn parse_finite_geopoint(value: &Value) -> Option<GeoPoint> {
    parse_geopoint(value).filter(|p| p.lat.is_finite() && p.lon.is_finite())
}

fn geo_leaf(field: &str, shape: GeoShape) -> Expr {
    leaf(ConditionKind::Geo {
        field: field.to_owned(),
        shape,
    })
}

/// Splits the field and its geopoint from the other, named properties of a geo keyword.
fn geo_center(map: &Map<String, Value>, names: &[&str], path: &str) -> Result<(String, GeoPoint)> {
    let Some((field, point)) = map.iter().find(|(k, _)| !names.contains(&k.as_str())) else {
        return invalid(path, "the field to test is missing");
    };
    let Some(point) = parse_finite_geopoint(point) else {
        return invalid(
            &join(Some(path), field),
            format!(
                "unrecognized geopoint `{point}`: expected [lat, lon], \"lat, lon\", a geohash or {{lat, lon}}"
            ),
        );
    };
    Ok((field.clone(), point))
}

fn distance(map: &Map<String, Value>, name: &str, path: &str) -> Result<f64> {
    let name_path = join(Some(path), name);
    let Some(value) = map.get(name) else {
        return invalid(&name_path, "is missing");
    };
    parse_distance(value).map_err(|message| RealtimeError::invalid(&name_path, message))
}

pub(super) fn geo_distance(value: &Value, path: &str) -> Result<Expr> {
    let map = object(value, path, Some(2))?;
    let radius = distance(map, "distance", path)?;
    let (field, center) = geo_center(map, &["distance"], path)?;
    Ok(geo_leaf(&field, GeoShape::Circle { center, radius }))
}

pub(super) fn geo_distance_range(value: &Value, path: &str) -> Result<Expr> {
    let map = object(value, path, Some(3))?;
    let from = distance(map, "from", path)?;
    let to = distance(map, "to", path)?;
    if from >= to {
        return invalid(
            path,
            format!(
                "inner radius `from` ({from} m) must be smaller than outer radius `to` ({to} m)"
            ),
        );
    }
    let (field, center) = geo_center(map, &["from", "to"], path)?;
    Ok(geo_leaf(&field, GeoShape::Annulus { center, from, to }))
}

pub(super) fn geo_polygon(value: &Value, path: &str) -> Result<Expr> {
    let (field, spec) = single_field(value, path)?;
    let field_path = join(Some(path), field);
    let spec = object(spec, &field_path, Some(1))?;
    let points_path = join(Some(&field_path), "points");
    let Some(Value::Array(raw)) = spec.get("points") else {
        return invalid(&points_path, "must be an array of geopoints");
    };
    if raw.len() < 3 {
        return invalid(
            &points_path,
            format!("a polygon needs at least 3 points, got {}", raw.len()),
        );
    }
    let points = raw
        .iter()
        .map(|point| {
            parse_finite_geopoint(point).ok_or_else(|| {
                RealtimeError::invalid(&points_path, format!("unrecognized geopoint `{point}`"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(geo_leaf(field, GeoShape::Polygon(Polygon::new(points))))
}
