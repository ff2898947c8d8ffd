//! Geographic shapes of the `geo*` keywords and the point-in-shape tests.
//!
//! Koncorde 4.7.0 tests shapes with Boost.Geometry in geographic coordinates: distances are
//! geodesic on the WGS84 ellipsoid (Andoyer's formula), and circles are first cut by an
//! approximate bounding box. This module reproduces both, so points near a circle's edge land
//! on the same side. Polygon edges are geodesics, and a point's side of an edge is decided by
//! comparing Andoyer azimuths from the edge's first vertex, as Boost.Geometry does.

use std::f64::consts::PI;

use serde_json::{Value, json};

use super::GeoPoint;
use crate::json::number_value;

/// WGS84 equatorial radius in metres.
const EQUATORIAL_RADIUS: f64 = 6_378_137.0;
/// WGS84 flattening.
const FLATTENING: f64 = 1.0 / 298.257_223_563;

/// A shape that geographic conditions test points against. Coordinates are in degrees and
/// distances in metres.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoShape {
    /// Points whose latitude is within `[bottom, top]` and longitude within `[left, right]`.
    BoundingBox {
        /// Maximum latitude.
        top: f64,
        /// Minimum longitude.
        left: f64,
        /// Minimum latitude.
        bottom: f64,
        /// Maximum longitude.
        right: f64,
    },
    /// Points at most `radius` metres from the centre.
    Circle {
        /// Centre.
        center: GeoPoint,
        /// Maximum distance in metres.
        radius: f64,
    },
    /// Points between `from` and `to` metres from the centre, both included.
    Annulus {
        /// Centre.
        center: GeoPoint,
        /// Minimum distance in metres.
        from: f64,
        /// Maximum distance in metres.
        to: f64,
    },
    /// Points inside or on the edge of a polygon.
    Polygon(Polygon),
}

/// A polygon whose edges are geodesics, with what point tests need precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    points: Vec<GeoPoint>,
    edges: Vec<Edge>,
    envelope: ([f64; 2], [f64; 2]),
}

/// One polygon edge from `start` to `end` in polygon order.
#[derive(Debug, Clone, PartialEq)]
struct Edge {
    start: GeoPoint,
    end: GeoPoint,
    /// Azimuth of the edge at `start`, in radians clockwise from north.
    azimuth: f64,
}

impl Edge {
    fn west_lon(&self) -> f64 {
        self.start.lon.min(self.end.lon)
    }

    fn east_lon(&self) -> f64 {
        self.start.lon.max(self.end.lon)
    }
}

impl Polygon {
    /// Builds a polygon from its vertices in order; the last one connects back to the first.
    pub fn new(points: Vec<GeoPoint>) -> Self {
        let edges = points
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = points[(i + 1) % points.len()];
                let azimuth = andoyer_azimuth(start, end);
                Edge {
                    start,
                    end,
                    azimuth,
                }
            })
            .collect();
        let envelope = polygon_envelope(&points);
        Self {
            points,
            edges,
            envelope,
        }
    }

    /// Returns the vertices.
    pub fn points(&self) -> &[GeoPoint] {
        &self.points
    }
}

impl GeoShape {
    /// Returns the canonical JSON of the shape, keyed by its Koncorde keyword.
    pub fn to_json(&self) -> Value {
        let n = number_value;
        match self {
            Self::BoundingBox {
                top,
                left,
                bottom,
                right,
            } => json!({"geoBoundingBox": {
                "top": n(*top), "left": n(*left), "bottom": n(*bottom), "right": n(*right)
            }}),
            Self::Circle { center, radius } => json!({"geoDistance": {
                "lat": n(center.lat), "lon": n(center.lon), "distance": n(*radius)
            }}),
            Self::Annulus { center, from, to } => json!({"geoDistanceRange": {
                "lat": n(center.lat), "lon": n(center.lon), "from": n(*from), "to": n(*to)
            }}),
            Self::Polygon(polygon) => {
                let points: Vec<Value> = polygon
                    .points
                    .iter()
                    .map(|p| json!([n(p.lat), n(p.lon)]))
                    .collect();
                json!({"geoPolygon": points})
            }
        }
    }

    /// Returns the shape's envelope as `([min_lon, min_lat], [max_lon, max_lat])`. A point
    /// outside the envelope is outside the shape.
    pub fn envelope(&self) -> ([f64; 2], [f64; 2]) {
        match self {
            Self::BoundingBox {
                top,
                left,
                bottom,
                right,
            } => ([*left, *bottom], [*right, *top]),
            Self::Circle { center, radius } => circle_envelope(*center, *radius),
            Self::Annulus { center, to, .. } => circle_envelope(*center, *to),
            Self::Polygon(polygon) => polygon.envelope,
        }
    }

    /// Returns true when the point is inside the shape or on its edge.
    pub fn contains(&self, point: GeoPoint) -> bool {
        let (min, max) = self.envelope();
        let in_envelope = point.lon >= min[0]
            && point.lon <= max[0]
            && point.lat >= min[1]
            && point.lat <= max[1];
        if !in_envelope {
            return false;
        }
        match self {
            Self::BoundingBox { .. } => true,
            Self::Circle { center, radius } => geodesic_distance(*center, point) <= *radius,
            Self::Annulus { center, from, to } => {
                let distance = geodesic_distance(*center, point);
                distance >= *from && distance <= *to
            }
            Self::Polygon(polygon) => polygon_covers(&polygon.edges, point),
        }
    }
}

/// Approximate bounding box of a circle, the one Koncorde 4.7.0 cuts candidates with: the
/// radius over the equatorial radius, widened in longitude by the cosine of the latitude.
fn circle_envelope(center: GeoPoint, radius: f64) -> ([f64; 2], [f64; 2]) {
    let dlat = (radius / EQUATORIAL_RADIUS).to_degrees();
    let dlon = (radius / (EQUATORIAL_RADIUS * center.lat.to_radians().cos())).to_degrees();
    (
        [center.lon - dlon, center.lat - dlat],
        [center.lon + dlon, center.lat + dlat],
    )
}

fn polygon_envelope(points: &[GeoPoint]) -> ([f64; 2], [f64; 2]) {
    let mut min = [f64::INFINITY, f64::INFINITY];
    let mut max = [f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut extend = |p: GeoPoint| {
        min = [min[0].min(p.lon), min[1].min(p.lat)];
        max = [max[0].max(p.lon), max[1].max(p.lat)];
    };

    // Great-circle edges bulge towards the poles, so sample each edge for its extreme latitudes.
    for (i, &a) in points.iter().enumerate() {
        let b = points[(i + 1) % points.len()];
        let (u, v) = (to_unit(a), to_unit(b));
        for step in 0..=32 {
            extend(interpolate(a, b, u, v, f64::from(step) / 32.0));
        }
    }
    let margin = 1e-6;
    (
        [min[0] - margin, min[1] - margin],
        [max[0] + margin, max[1] + margin],
    )
}

fn to_unit(p: GeoPoint) -> [f64; 3] {
    let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Returns the point at fraction `t` of the great-circle arc from `a` to `b`, whose unit
/// vectors are `u` and `v`. Its longitude is interpolated between the endpoints, so it never
/// jumps by 360 degrees.
fn interpolate(a: GeoPoint, b: GeoPoint, u: [f64; 3], v: [f64; 3], t: f64) -> GeoPoint {
    let w: [f64; 3] = std::array::from_fn(|i| u[i] * (1.0 - t) + v[i] * t);
    let norm = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt();
    if norm < 1e-12 {
        return a;
    }
    GeoPoint {
        lat: (w[2] / norm).clamp(-1.0, 1.0).asin().to_degrees(),
        lon: a.lon + (b.lon - a.lon) * t,
    }
}

/// Crossing-number test: counts the edges that pass north of the point on its meridian. A
/// point on an edge is covered.
fn polygon_covers(edges: &[Edge], point: GeoPoint) -> bool {
    let mut inside = false;

    for edge in edges {
        let (west, east) = (edge.west_lon(), edge.east_lon());
        if point.lon < west || point.lon > east {
            continue;
        }
        if west == east {
            // A meridian edge: covered when the point lies on it.
            let (low, high) = (
                edge.start.lat.min(edge.end.lat),
                edge.start.lat.max(edge.end.lat),
            );
            if point.lat >= low && point.lat <= high {
                return true;
            }
            continue;
        }
        if point == edge.start || point == edge.end {
            return true;
        }
        // Positive when the point is to the right of the edge, seen from its start.
        let mut turn = andoyer_azimuth(edge.start, point) - edge.azimuth;
        while turn > PI {
            turn -= 2.0 * PI;
        }
        while turn <= -PI {
            turn += 2.0 * PI;
        }
        if turn.abs() < 1e-15 || (turn.abs() - PI).abs() < 1e-15 {
            return true;
        }
        // Right of an eastward edge, or left of a westward one, is south of it.
        let eastward = edge.start.lon < edge.end.lon;
        let south = (turn > 0.0) == eastward;
        // Half-open on the east end so that a vertex shared by two edges counts once.
        if point.lon < east && south {
            inside = !inside;
        }
    }
    inside
}

/// Forward azimuth from `a` to `b`, in radians clockwise from north, by Andoyer's first-order
/// formula on the WGS84 ellipsoid: the spherical azimuth corrected by flattening terms.
fn andoyer_azimuth(a: GeoPoint, b: GeoPoint) -> f64 {
    if a == b {
        return 0.0;
    }
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlon = (b.lon - a.lon).to_radians();
    let (sin_dlon, cos_dlon) = dlon.sin_cos();
    let (sin_lat1, cos_lat1) = lat1.sin_cos();
    let (sin_lat2, cos_lat2) = lat2.sin_cos();

    let cos_d = (sin_lat1 * sin_lat2 + cos_lat1 * cos_lat2 * cos_dlon).clamp(-1.0, 1.0);
    let d = cos_d.acos();
    let sin_d = d.sin();
    if sin_d.abs() < f64::EPSILON {
        // Same or antipodal points: no defined direction.
        let towards_south = cos_d < 0.0 && (sin_lat1 - 1.0).abs() < f64::EPSILON;
        return if towards_south { PI } else { 0.0 };
    }

    // Spherical azimuths at each end, and their first-order flattening terms.
    let (spherical, u) = if cos_lat2.abs() < f64::EPSILON {
        (if sin_lat2 < 0.0 { PI } else { 0.0 }, 0.0)
    } else {
        let azimuth = sin_dlon.atan2(cos_lat1 * (sin_lat2 / cos_lat2) - sin_lat1 * cos_dlon);
        (
            azimuth,
            FLATTENING / 2.0 * cos_lat1 * cos_lat1 * (2.0 * azimuth).sin(),
        )
    };
    let v = if cos_lat1.abs() < f64::EPSILON {
        0.0
    } else {
        let back = sin_dlon.atan2(cos_lat2 * (sin_lat1 / cos_lat1) - sin_lat2 * cos_dlon);
        FLATTENING / 2.0 * cos_lat2 * cos_lat2 * (2.0 * back).sin()
    };
    let correction = v * (d / sin_d) - u;
    let azimuth = spherical - correction;

    // The correction must not carry the azimuth across north or south.
    match (spherical >= 0.0, correction >= 0.0) {
        (true, true) => azimuth.max(0.0),
        (true, false) => azimuth.min(PI),
        (false, false) => azimuth.min(0.0),
        (false, true) => azimuth.max(-PI),
    }
}

/// Geodesic distance in metres on the WGS84 ellipsoid, by Andoyer's first-order formula.
pub fn geodesic_distance(a: GeoPoint, b: GeoPoint) -> f64 {
    if a == b {
        return 0.0;
    }
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlon = (b.lon - a.lon).to_radians();
    let (sin_lat1, cos_lat1) = lat1.sin_cos();
    let (sin_lat2, cos_lat2) = lat2.sin_cos();

    let cos_d = (sin_lat1 * sin_lat2 + cos_lat1 * cos_lat2 * dlon.cos()).clamp(-1.0, 1.0);
    let d = cos_d.acos();
    let sin_d = d.sin();

    let k = (sin_lat1 - sin_lat2).powi(2);
    let l = (sin_lat1 + sin_lat2).powi(2);
    let one_minus_cos_d = 1.0 - cos_d;
    let one_plus_cos_d = 1.0 + cos_d;
    let h = if one_minus_cos_d == 0.0 {
        0.0
    } else {
        (d + 3.0 * sin_d) / one_minus_cos_d
    };
    let g = if one_plus_cos_d == 0.0 {
        0.0
    } else {
        (d - 3.0 * sin_d) / one_plus_cos_d
    };
    let dd = -(FLATTENING / 4.0) * (h * k + g * l);
    EQUATORIAL_RADIUS * (d + dd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    #[test]
    fn andoyer_distance_is_close_to_reference() {
        // One degree of latitude at the equator is 110,574 m on WGS84.
        let d = geodesic_distance(p(0.0, 0.0), p(1.0, 0.0));
        assert!((d - 110_574.0).abs() < 5.0, "{d}");
        // One degree of longitude at the equator is 111,319 m.
        let d = geodesic_distance(p(0.0, 0.0), p(0.0, 1.0));
        assert!((d - 111_319.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn circle_contains() {
        let circle = GeoShape::Circle {
            center: p(43.6, 3.9),
            radius: 1000.0,
        };
        assert!(circle.contains(p(43.6, 3.9)));
        assert!(circle.contains(p(43.605, 3.9)));
        assert!(!circle.contains(p(43.62, 3.9)));
    }

    #[test]
    fn annulus_excludes_centre() {
        let ring = GeoShape::Annulus {
            center: p(0.0, 0.0),
            from: 1000.0,
            to: 5000.0,
        };
        assert!(!ring.contains(p(0.0, 0.0)));
        assert!(ring.contains(p(0.02, 0.0)));
        assert!(!ring.contains(p(0.1, 0.0)));
    }

    #[test]
    fn bounding_box_includes_edges() {
        let bbox = GeoShape::BoundingBox {
            top: 10.0,
            left: 0.0,
            bottom: 0.0,
            right: 10.0,
        };
        assert!(bbox.contains(p(10.0, 0.0)));
        assert!(bbox.contains(p(5.0, 5.0)));
        assert!(!bbox.contains(p(5.0, 10.5)));
    }

    #[test]
    fn polygon_inside_outside_and_edge() {
        let square = GeoShape::Polygon(Polygon::new(vec![
            p(0.0, 0.0),
            p(0.0, 10.0),
            p(10.0, 10.0),
            p(10.0, 0.0),
        ]));
        assert!(square.contains(p(5.0, 5.0)));
        assert!(!square.contains(p(5.0, 11.0)));
        assert!(!square.contains(p(-1.0, 5.0)));
        assert!(
            square.contains(p(0.0, 5.0)),
            "a point on the equator edge is covered"
        );
    }

    #[test]
    fn polygon_edges_are_great_circles() {
        // The arc between two points at 10°N bulges north of 10°N in its middle.
        let polygon = GeoShape::Polygon(Polygon::new(vec![
            p(0.0, 0.0),
            p(0.0, 60.0),
            p(10.0, 60.0),
            p(10.0, 0.0),
        ]));
        assert!(polygon.contains(p(10.5, 30.0)));
        assert!(!polygon.contains(p(12.0, 30.0)));
    }
}
