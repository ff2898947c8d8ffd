//! Bounding-box prefilters for geo clauses: latitude and longitude are indexed as numbers, so
//! the exact distance or polygon test reads only the documents inside the clause's box.

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{BooleanQuery, InvertedIndexRangeQuery, Occur, Query as TantivyQuery};

use super::search_index::SearchIndex;
use crate::query::Query;
use crate::query::geo::GeoPoint;

/// Suffix of the indexed latitude of a `geo_point` field.
pub(crate) const LAT_SUFFIX: &str = "#lat";
/// Suffix of the indexed longitude of a `geo_point` field.
pub(crate) const LON_SUFFIX: &str = "#lon";

/// Meters per degree of latitude, rounded down so the box errs on the large side.
const METERS_PER_DEGREE: f64 = 111_000.0;

/// A box in degrees; `lon` is `None` when it spans every longitude.
struct GeoBox {
    lat: (f64, f64),
    lon: Option<(f64, f64)>,
}

/// Returns a query matching the documents whose point lies in the box of a geo clause.
pub(super) fn prefilter(query: &Query, search: &SearchIndex) -> Option<Box<dyn TantivyQuery>> {
    let (field, geo_box) = match query {
        Query::GeoDistance {
            field,
            center,
            distance_m,
        } => (field, distance_box(center, *distance_m)),
        Query::GeoBoundingBox {
            field,
            top_left,
            bottom_right,
        } => {
            let lon =
                (top_left.lon <= bottom_right.lon).then_some((top_left.lon, bottom_right.lon));
            (
                field,
                GeoBox {
                    lat: (bottom_right.lat, top_left.lat),
                    lon,
                },
            )
        }
        Query::GeoPolygon { field, points } => (field, polygon_box(points)),
        _ => return None,
    };
    let lat_field = search.field(&format!("{field}{LAT_SUFFIX}"))?.field;
    let lon_field = search.field(&format!("{field}{LON_SUFFIX}"))?.field;
    let range = |field, (low, high): (f64, f64)| -> Box<dyn TantivyQuery> {
        let low = Bound::Included(Term::from_field_f64(field, low));
        let high = Bound::Included(Term::from_field_f64(field, high));
        Box::new(InvertedIndexRangeQuery::new(low, high))
    };
    let mut clauses = vec![(Occur::Must, range(lat_field, geo_box.lat))];
    if let Some(lon) = geo_box.lon {
        clauses.push((Occur::Must, range(lon_field, lon)));
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

fn distance_box(center: &GeoPoint, distance_m: f64) -> GeoBox {
    let lat_delta = distance_m / METERS_PER_DEGREE;
    let lat = (
        (center.lat - lat_delta).max(-90.0),
        (center.lat + lat_delta).min(90.0),
    );
    // Near a pole or across the antimeridian the box spans every longitude.
    let widest_lat = lat.0.abs().max(lat.1.abs());
    let lon = (widest_lat < 89.0)
        .then(|| distance_m / (METERS_PER_DEGREE * widest_lat.to_radians().cos()))
        .filter(|lon_delta| center.lon - lon_delta >= -180.0 && center.lon + lon_delta <= 180.0)
        .map(|lon_delta| (center.lon - lon_delta, center.lon + lon_delta));
    GeoBox { lat, lon }
}

fn polygon_box(points: &[GeoPoint]) -> GeoBox {
    let lats = points.iter().map(|point| point.lat);
    let lons = points.iter().map(|point| point.lon);
    let min = |values: &mut dyn Iterator<Item = f64>| values.fold(f64::INFINITY, f64::min);
    let max = |values: &mut dyn Iterator<Item = f64>| values.fold(f64::NEG_INFINITY, f64::max);
    GeoBox {
        lat: (min(&mut lats.clone()), max(&mut lats.clone())),
        lon: Some((min(&mut lons.clone()), max(&mut lons.clone()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    #[test]
    fn distance_box_contains_circle() {
        let center = point(48.85, 2.35);
        let geo_box = distance_box(&center, 10_000.0);
        let (west, east) = geo_box.lon.expect("a longitude range");
        // Points 10 km north and east of the center are inside the box.
        assert!(geo_box.lat.1 >= 48.85 + 10_000.0 / 111_320.0);
        assert!(east - 2.35 >= 10_000.0 / (111_320.0 * 48.85_f64.to_radians().cos()));
        assert!(west < 2.35);
    }

    #[test]
    fn distance_box_spans_antimeridian_and_poles() {
        assert!(distance_box(&point(0.0, 179.95), 50_000.0).lon.is_none());
        assert!(distance_box(&point(0.0, -179.95), 50_000.0).lon.is_none());
        assert!(distance_box(&point(89.9, 10.0), 50_000.0).lon.is_none());
        assert_eq!(distance_box(&point(89.9, 10.0), 50_000.0).lat.1, 90.0);
    }

    #[test]
    fn polygon_box_bounds_points() {
        let geo_box = polygon_box(&[point(1.0, 2.0), point(3.0, -4.0), point(-1.0, 5.0)]);
        assert_eq!(geo_box.lat, (-1.0, 3.0));
        assert_eq!(geo_box.lon, Some((-4.0, 5.0)));
    }
}
