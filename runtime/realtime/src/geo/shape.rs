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
pub(super) const EQUATORIAL_RADIUS: f64 = 6_378_137.0;
/// WGS84 flattening.
pub(super) const FLATTENING: f64 = 1.0 / 298.257_223_563;

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
    /// Smallest and largest longitude of the two ends.
    west: f64,
    east: f64,
    /// Sine and cosine of the latitude of `start`, which every point test needs.
    start_latitude: LatitudeTrig,
    /// Sine and cosine of the longitude of `start`.
    start_longitude: LatitudeTrig,
    /// Azimuth of the edge at `start`, in radians clockwise from north.
    azimuth: f64,
    /// Sine and cosine of `azimuth`.
    azimuth_sin: f64,
    azimuth_cos: f64,
}

/// Sine and cosine of an angle given in degrees, computed once for all the tests that use it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LatitudeTrig {
    sin: f64,
    cos: f64,
}

impl LatitudeTrig {
    fn new(point: GeoPoint) -> Self {
        Self::of_degrees(point.lat)
    }

    fn of_degrees(angle: f64) -> Self {
        let (sin, cos) = angle.to_radians().sin_cos();
        Self { sin, cos }
    }
}

/// A tested point with the sines and cosines of its latitude and longitude.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PointTrig {
    point: GeoPoint,
    latitude: LatitudeTrig,
    longitude: LatitudeTrig,
    /// `latitude.sin / latitude.cos`, which the side test of every edge reads.
    tan_lat: f64,
}

impl PointTrig {
    /// Computes the sines and cosines.
    pub fn new(point: GeoPoint) -> Self {
        let latitude = LatitudeTrig::new(point);
        Self {
            point,
            latitude,
            longitude: LatitudeTrig::of_degrees(point.lon),
            tan_lat: latitude.sin / latitude.cos,
        }
    }

    /// Returns the sine and cosine of the latitude.
    pub fn latitude(&self) -> (f64, f64) {
        (self.latitude.sin, self.latitude.cos)
    }

    /// Returns the sine and cosine of the longitude.
    pub fn longitude(&self) -> (f64, f64) {
        (self.longitude.sin, self.longitude.cos)
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
                let (azimuth_sin, azimuth_cos) = azimuth.sin_cos();
                Edge {
                    start,
                    end,
                    west: start.lon.min(end.lon),
                    east: start.lon.max(end.lon),
                    start_latitude: LatitudeTrig::new(start),
                    start_longitude: LatitudeTrig::of_degrees(start.lon),
                    azimuth,
                    azimuth_sin,
                    azimuth_cos,
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
    /// Returns the Koncorde keyword of the shape.
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::BoundingBox { .. } => "geoBoundingBox",
            Self::Circle { .. } => "geoDistance",
            Self::Annulus { .. } => "geoDistanceRange",
            Self::Polygon(_) => "geoPolygon",
        }
    }

    /// Returns the canonical JSON of the shape, keyed by its Koncorde keyword.
    pub fn to_json(&self) -> Value {
        let n = number_value;
        let value = match self {
            Self::BoundingBox {
                top,
                left,
                bottom,
                right,
            } => {
                json!({"top": n(*top), "left": n(*left), "bottom": n(*bottom), "right": n(*right)})
            }
            Self::Circle { center, radius } => {
                json!({"lat": n(center.lat), "lon": n(center.lon), "distance": n(*radius)})
            }
            Self::Annulus { center, from, to } => json!({
                "lat": n(center.lat), "lon": n(center.lon), "from": n(*from), "to": n(*to)
            }),
            Self::Polygon(polygon) => polygon
                .points
                .iter()
                .map(|p| json!([n(p.lat), n(p.lon)]))
                .collect(),
        };
        json!({ self.keyword(): value })
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

    /// Reads the longitudes of a polygon's edges, which are stored apart from the shape, and
    /// returns their bits combined, or 0 for the other shapes. Calling it on several shapes
    /// before testing them loads their edges in parallel.
    pub fn touch_edges(&self) -> u64 {
        match self {
            Self::Polygon(polygon) => polygon
                .edges
                .iter()
                .fold(0, |acc, edge| acc ^ edge.west.to_bits()),
            _ => 0,
        }
    }

    /// Returns true when the point is inside the shape or on its edge.
    pub fn contains(&self, point: GeoPoint) -> bool {
        self.contains_trig(&PointTrig::new(point))
    }

    /// Same as [`GeoShape::contains`], with the point's sines and cosines given.
    pub(crate) fn contains_trig(&self, trig: &PointTrig) -> bool {
        let point = trig.point;
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
            Self::Polygon(polygon) => polygon_covers(&polygon.edges, trig),
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
    let (mut min_lon, mut max_lon) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut min_lat, mut max_lat) = (f64::INFINITY, f64::NEG_INFINITY);

    // Great-circle edges bulge towards the poles, so sample each edge for its extreme latitudes.
    // A sample's latitude grows with the sine returned by `sample_sine`, so only the smallest
    // and largest sines of an edge need `asin`.
    for (i, &a) in points.iter().enumerate() {
        let b = points[(i + 1) % points.len()];
        let (u, v) = (to_unit(a), to_unit(b));
        let mut sines = (f64::INFINITY, f64::NEG_INFINITY);
        for step in 0..=32 {
            let t = f64::from(step) / 32.0;
            // Longitudes are interpolated between the endpoints, so they never jump by 360
            // degrees.
            let lon = match sample_sine(u, v, t) {
                Some(sine) => {
                    sines = (sines.0.min(sine), sines.1.max(sine));
                    a.lon + (b.lon - a.lon) * t
                }
                None => {
                    (min_lat, max_lat) = (min_lat.min(a.lat), max_lat.max(a.lat));
                    a.lon
                }
            };
            (min_lon, max_lon) = (min_lon.min(lon), max_lon.max(lon));
        }
        if sines.0 <= sines.1 {
            min_lat = min_lat.min(sines.0.asin().to_degrees());
            max_lat = max_lat.max(sines.1.asin().to_degrees());
        }
    }
    let margin = 1e-6;
    (
        [min_lon - margin, min_lat - margin],
        [max_lon + margin, max_lat + margin],
    )
}

fn to_unit(p: GeoPoint) -> [f64; 3] {
    let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Returns the sine of the latitude of the point at fraction `t` of the great-circle arc
/// between the unit vectors `u` and `v`. Returns `None` when the chord passes too close to
/// the centre to give a direction, and the caller then uses the arc's start instead.
fn sample_sine(u: [f64; 3], v: [f64; 3], t: f64) -> Option<f64> {
    let w: [f64; 3] = std::array::from_fn(|i| u[i] * (1.0 - t) + v[i] * t);
    let norm = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt();
    if norm < 1e-12 {
        return None;
    }
    Some((w[2] / norm).clamp(-1.0, 1.0))
}

/// Crossing-number test: counts the edges that pass north of the point on its meridian. A
/// point on an edge is covered.
fn polygon_covers(edges: &[Edge], trig: &PointTrig) -> bool {
    let mut inside = false;
    let point = trig.point;

    for edge in edges {
        let (west, east) = (edge.west, edge.east);
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
        let right = match spherical_side(edge, trig) {
            Some(right) => right,
            None => {
                let azimuth =
                    andoyer_azimuth_trig((edge.start, edge.start_latitude), (point, trig.latitude));
                let turn = wrap_angle(azimuth - edge.azimuth);
                if turn.abs() < 1e-15 || (turn.abs() - PI).abs() < 1e-15 {
                    return true;
                }
                turn > 0.0
            }
        };
        // Right of an eastward edge, or left of a westward one, is south of it.
        let eastward = edge.start.lon < edge.end.lon;
        let south = right == eastward;
        // Half-open on the east end so that a vertex shared by two edges counts once.
        if point.lon < east && south {
            inside = !inside;
        }
    }
    inside
}

/// Returns an angle in radians wrapped into `(-PI, PI]`.
fn wrap_angle(mut angle: f64) -> f64 {
    while angle > PI {
        angle -= 2.0 * PI;
    }
    while angle <= -PI {
        angle += 2.0 * PI;
    }
    angle
}

/// Maximum flattening correction that [`andoyer_azimuth_trig`] subtracts from the spherical
/// azimuth when both points are at most a quarter circle apart: `|u|` and `|v|` are at most
/// `FLATTENING / 2`, and `d / sin d` is at most `PI / 2` for `d` up to `PI / 2`. The clamp at
/// the end of that function only moves the azimuth back towards the spherical one.
const MAX_AZIMUTH_CORRECTION: f64 = FLATTENING / 2.0 * (PI / 2.0 + 1.0);

/// Returns whether a point is to the right of an edge, seen from its start, from the
/// spherical azimuth alone, without the trigonometric calls of the flattening terms.
///
/// Returns `None` unless the turn from the edge's azimuth to the point's is farther than twice
/// the maximum correction from 0 and from `PI`. Beyond that, the Andoyer azimuth gives the same
/// side and is out of reach of the on-edge tolerance, so the caller decides exactly as before.
fn spherical_side(edge: &Edge, trig: &PointTrig) -> Option<bool> {
    let (sin_lat1, cos_lat1) = (edge.start_latitude.sin, edge.start_latitude.cos);
    let (sin_lat2, cos_lat2) = (trig.latitude.sin, trig.latitude.cos);
    if cos_lat1.abs() < f64::EPSILON || cos_lat2.abs() < f64::EPSILON {
        return None;
    }
    // Sine and cosine of the longitude difference, from those of both longitudes.
    let (sin_lon1, cos_lon1) = (edge.start_longitude.sin, edge.start_longitude.cos);
    let (sin_lon2, cos_lon2) = (trig.longitude.sin, trig.longitude.cos);
    let sin_dlon = sin_lon2 * cos_lon1 - cos_lon2 * sin_lon1;
    let cos_dlon = cos_lon2 * cos_lon1 + sin_lon2 * sin_lon1;

    let cos_d = (sin_lat1 * sin_lat2 + cos_lat1 * cos_lat2 * cos_dlon).clamp(-1.0, 1.0);
    // A cosine in [0, 1) keeps the distance within (0, PI / 2], where the bound holds, and
    // `sin d` far above the epsilon under which the exact azimuth takes another branch.
    if !(0.0..1.0 - 1e-12).contains(&cos_d) {
        return None;
    }

    // The spherical azimuth is the angle of (x, y), so `cross` is the sine of the turn times
    // the length of (x, y). Comparing sines with the margin itself, which is larger than its
    // sine, keeps the turn within (margin, PI - margin) in absolute value.
    let y = sin_dlon;
    let x = cos_lat1 * trig.tan_lat - sin_lat1 * cos_dlon;
    let cross = y * edge.azimuth_cos - x * edge.azimuth_sin;
    let margin = 2.0 * MAX_AZIMUTH_CORRECTION;
    (cross * cross > (x * x + y * y) * margin * margin).then_some(cross > 0.0)
}

/// Forward azimuth from `a` to `b`, in radians clockwise from north, by Andoyer's first-order
/// formula on the WGS84 ellipsoid: the spherical azimuth corrected by flattening terms.
fn andoyer_azimuth(a: GeoPoint, b: GeoPoint) -> f64 {
    andoyer_azimuth_trig((a, LatitudeTrig::new(a)), (b, LatitudeTrig::new(b)))
}

/// Same as [`andoyer_azimuth`], with the sines and cosines of both latitudes given.
fn andoyer_azimuth_trig(
    (a, a_latitude): (GeoPoint, LatitudeTrig),
    (b, b_latitude): (GeoPoint, LatitudeTrig),
) -> f64 {
    if a == b {
        return 0.0;
    }
    let dlon = (b.lon - a.lon).to_radians();
    let (sin_dlon, cos_dlon) = dlon.sin_cos();
    let (sin_lat1, cos_lat1) = (a_latitude.sin, a_latitude.cos);
    let (sin_lat2, cos_lat2) = (b_latitude.sin, b_latitude.cos);

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

    /// The spherical shortcut must decide every point as the Andoyer azimuth does. Points run
    /// over a grid around edges of several lengths, latitudes and directions, including points
    /// close to the edge line where the shortcut must give up.
    #[test]
    fn spherical_side_agrees_with_andoyer() {
        let starts = [p(0.0, 0.0), p(45.0, 3.0), p(-60.0, 170.0), p(80.0, -20.0)];
        let offsets = [
            (0.5, 0.4),
            (-3.0, 7.0),
            (20.0, -35.0),
            (0.0, 60.0),
            (-1e-7, 1e-7),
        ];
        let mut decided = 0;
        for start in starts {
            for (dlat, dlon) in offsets {
                let end = p((start.lat + dlat).clamp(-89.0, 89.0), start.lon + dlon);
                let edge = Polygon::new(vec![start, end, p(0.0, 90.0)]).edges[0].clone();
                for i in -40..=40 {
                    for j in -40..=40 {
                        let scale = f64::from(i * i + j * j).sqrt() / 40.0;
                        let point = p(
                            (start.lat + f64::from(i) * dlat.abs().max(0.1) * scale / 20.0)
                                .clamp(-89.9, 89.9),
                            start.lon + f64::from(j) * dlon.abs().max(0.1) / 20.0,
                        );
                        let Some(right) = spherical_side(&edge, &PointTrig::new(point)) else {
                            continue;
                        };
                        decided += 1;
                        let azimuth = andoyer_azimuth(edge.start, point);
                        let exact = wrap_angle(azimuth - edge.azimuth);
                        assert_eq!(right, exact > 0.0, "{point:?} from {edge:?}");
                        assert!(exact.abs() > 1e-15, "{point:?} from {edge:?}");
                        assert!((exact.abs() - PI).abs() > 1e-15, "{point:?} from {edge:?}");
                    }
                }
            }
        }
        assert!(
            decided > 50_000,
            "the shortcut decided only {decided} points"
        );
    }

    /// Reference: the envelope from the latitude of every sample, with `asin` on each.
    fn envelope_of_all_samples(points: &[GeoPoint]) -> ([f64; 2], [f64; 2]) {
        let mut min = [f64::INFINITY, f64::INFINITY];
        let mut max = [f64::NEG_INFINITY, f64::NEG_INFINITY];
        for (i, &a) in points.iter().enumerate() {
            let b = points[(i + 1) % points.len()];
            let (u, v) = (to_unit(a), to_unit(b));
            for step in 0..=32 {
                let t = f64::from(step) / 32.0;
                let (lat, lon) = match sample_sine(u, v, t) {
                    Some(sine) => (sine.asin().to_degrees(), a.lon + (b.lon - a.lon) * t),
                    None => (a.lat, a.lon),
                };
                min = [min[0].min(lon), min[1].min(lat)];
                max = [max[0].max(lon), max[1].max(lat)];
            }
        }
        (
            [min[0] - 1e-6, min[1] - 1e-6],
            [max[0] + 1e-6, max[1] + 1e-6],
        )
    }

    #[test]
    fn polygon_envelope_matches_every_sample() {
        let polygons = [
            vec![p(0.0, 0.0), p(0.0, 60.0), p(10.0, 60.0), p(10.0, 0.0)],
            vec![p(45.1, 3.2), p(45.4, 3.9), p(44.8, 4.1)],
            vec![p(-80.0, 170.0), p(-80.0, -170.0), p(-85.0, 0.0)],
            vec![p(89.0, 0.0), p(89.0, 120.0), p(89.0, -120.0)],
            vec![p(0.0, 0.0), p(0.0, 180.0), p(1.0, 90.0)],
            vec![p(-30.0, -179.5), p(30.0, 179.5), p(0.0, 10.0)],
        ];
        for points in polygons {
            let expected = envelope_of_all_samples(&points);
            assert_eq!(polygon_envelope(&points), expected, "{points:?}");
        }
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
