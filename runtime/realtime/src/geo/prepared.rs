//! Shapes and points with their latitude trigonometry computed once, so that circle and ring
//! tests decide most points from the spherical distance, without the Andoyer correction.

use std::f64::consts::FRAC_PI_2;

use super::GeoPoint;
use super::shape::{EQUATORIAL_RADIUS, FLATTENING, GeoShape, PointTrig};

/// Upper bound of `|Andoyer distance - spherical distance| / spherical distance` for central
/// angles `d` up to `PI / 2`.
///
/// [`super::shape::geodesic_distance`] returns `R (d + dd)` with
/// `dd = -(f / 4) (h k + g l)`. On `(0, PI / 2]`, `k <= d^2` and `1 - cos d >= 0.405 d^2` give
/// `h k <= 9.87 d`, and `l <= 4` with `|d - 3 sin d| <= 2 d` give `|g l| <= 8 d`, so
/// `|dd| <= (f / 4) 17.87 d`, which is below `0.015 d`.
const MAX_RELATIVE_CORRECTION: f64 = FLATTENING / 4.0 * 17.87;

/// Relative margin of the cuts: the bound above plus room for rounding.
const MARGIN: f64 = MAX_RELATIVE_CORRECTION + 0.005;

/// Smallest central angle in radians (about 6 m) that a cut may use. Below it, the rounding
/// of cosines close to 1 is no longer small against the margin.
const MIN_ANGLE: f64 = 1e-6;

/// Cosines of the central angles within which a point is surely closer to the centre than a
/// radius, and beyond which it is surely farther.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RadiusCut {
    closer: f64,
    farther: f64,
}

impl RadiusCut {
    fn new(radius: f64) -> Option<Self> {
        let closer = radius / (EQUATORIAL_RADIUS * (1.0 + MARGIN));
        let farther = radius / (EQUATORIAL_RADIUS * (1.0 - MARGIN));
        (closer >= MIN_ANGLE && farther < FRAC_PI_2).then(|| Self {
            closer: closer.cos(),
            farther: farther.cos(),
        })
    }

    /// Returns `Some(true)` when a point at central angle `acos(cos_d)` is surely strictly
    /// closer than the radius, `Some(false)` when surely farther, and `None` otherwise.
    fn is_closer(&self, cos_d: f64) -> Option<bool> {
        if cos_d >= self.closer {
            Some(true)
        } else if (0.0..self.farther).contains(&cos_d) {
            // A cosine of at least 0 keeps the angle within PI / 2, where the bound holds.
            Some(false)
        } else {
            None
        }
    }
}

/// Cuts of a circle's radius, or of a ring's inner and outer radii.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cuts {
    None,
    Circle(RadiusCut),
    /// The inner cut is `None` when every distance is at least the inner radius.
    Ring(Option<RadiusCut>, RadiusCut),
}

/// A point with the sines and cosines of its coordinates, computed once per document.
#[derive(Debug, Clone, Copy)]
pub struct PreparedPoint {
    point: GeoPoint,
    sin_lat: f64,
    cos_lat: f64,
    trig: PointTrig,
}

impl PreparedPoint {
    /// Computes the sines and cosines.
    pub fn new(point: GeoPoint) -> Self {
        let trig = PointTrig::new(point);
        let (sin_lat, cos_lat) = trig.latitude();
        Self {
            point,
            sin_lat,
            cos_lat,
            trig,
        }
    }

    /// Returns the longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.point.lon
    }

    /// Returns the latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.point.lat
    }
}

/// A shape with what its point tests need computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedShape {
    shape: GeoShape,
    envelope: ([f64; 2], [f64; 2]),
    center_sin_lat: f64,
    center_cos_lat: f64,
    center_sin_lon: f64,
    center_cos_lon: f64,
    cuts: Cuts,
}

impl PreparedShape {
    /// Computes the envelope, and for circles and rings the centre's trigonometry and the
    /// radius cuts.
    pub fn new(shape: GeoShape) -> Self {
        let (center, cuts) = match &shape {
            GeoShape::Circle { center, radius } => (*center, circle_cuts(*radius)),
            GeoShape::Annulus { center, from, to } => (*center, ring_cuts(*from, *to)),
            GeoShape::BoundingBox { .. } | GeoShape::Polygon(_) => {
                (GeoPoint { lat: 0.0, lon: 0.0 }, Cuts::None)
            }
        };
        let (center_sin_lat, center_cos_lat) = center.lat.to_radians().sin_cos();
        let (center_sin_lon, center_cos_lon) = center.lon.to_radians().sin_cos();
        Self {
            envelope: shape.envelope(),
            shape,
            center_sin_lat,
            center_cos_lat,
            center_sin_lon,
            center_cos_lon,
            cuts,
        }
    }

    /// Reads the memory a point test of the shape reads outside the shape itself, and returns
    /// a value that depends on it, so that the reads cannot be left out. See
    /// [`GeoShape::touch_edges`].
    pub fn touch_edges(&self) -> u64 {
        self.shape.touch_edges()
    }

    /// Returns the same as [`GeoShape::contains`].
    pub fn contains(&self, point: &PreparedPoint) -> bool {
        self.decide(point)
            .unwrap_or_else(|| self.shape.contains_trig(&point.trig))
    }

    /// Decides a circle or ring test from the spherical distance, or returns `None` when the
    /// point is too close to a radius, or the shape is of another kind.
    fn decide(&self, point: &PreparedPoint) -> Option<bool> {
        if self.cuts == Cuts::None {
            return None;
        }
        let (min, max) = self.envelope;
        let p = point.point;
        if p.lon < min[0] || p.lon > max[0] || p.lat < min[1] || p.lat > max[1] {
            return Some(false);
        }

        // cos(a - b) from the sines and cosines that both sides computed once, instead of one
        // `cos` call per candidate. The rounding differs by a few ulps, far inside the margin.
        let (sin_lon, cos_lon) = point.trig.longitude();
        let cos_dlon = cos_lon * self.center_cos_lon + sin_lon * self.center_sin_lon;
        let cos_d =
            self.center_sin_lat * point.sin_lat + self.center_cos_lat * point.cos_lat * cos_dlon;
        let cos_d = cos_d.clamp(-1.0, 1.0);
        match self.cuts {
            Cuts::None => None,
            Cuts::Circle(radius) => radius.is_closer(cos_d),
            Cuts::Ring(inner, outer) => {
                if !outer.is_closer(cos_d)? {
                    return Some(false);
                }
                match inner {
                    None => Some(true),
                    Some(inner) => inner.is_closer(cos_d).map(|closer| !closer),
                }
            }
        }
    }
}

fn circle_cuts(radius: f64) -> Cuts {
    RadiusCut::new(radius).map_or(Cuts::None, Cuts::Circle)
}

fn ring_cuts(from: f64, to: f64) -> Cuts {
    let Some(outer) = RadiusCut::new(to) else {
        return Cuts::None;
    };
    if from <= 0.0 {
        return Cuts::Ring(None, outer);
    }
    RadiusCut::new(from).map_or(Cuts::None, |inner| Cuts::Ring(Some(inner), outer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    fn shapes() -> Vec<GeoShape> {
        let centers = [p(0.0, 0.0), p(45.0, 5.0), p(-70.0, 179.9), p(88.0, 10.0)];
        let radii = [3.0, 50.0, 2_000.0, 20_000.0, 700_000.0, 5_000_000.0];
        let mut shapes = Vec::new();
        for center in centers {
            for radius in radii {
                shapes.push(GeoShape::Circle { center, radius });
                for from in [0.0, radius / 2.0, radius * 0.99] {
                    shapes.push(GeoShape::Annulus {
                        center,
                        from,
                        to: radius,
                    });
                }
            }
        }
        shapes
    }

    /// Points on a grid over each shape's envelope: near a radius, where the cuts must give
    /// up, and far from it, where they decide.
    #[test]
    fn prepared_tests_agree_with_exact_ones() {
        let mut decided = 0;
        let mut total = 0;
        for shape in shapes() {
            let prepared = PreparedShape::new(shape.clone());
            let (min, max) = shape.envelope();
            let center = p((min[1] + max[1]) / 2.0, (min[0] + max[0]) / 2.0);
            let (half_lat, half_lon) = ((max[1] - min[1]) / 2.0, (max[0] - min[0]) / 2.0);
            for i in -60..=60 {
                for j in -60..=60 {
                    let lat = (center.lat + half_lat * f64::from(i) / 50.0).clamp(-90.0, 90.0);
                    let point = p(lat, center.lon + half_lon * f64::from(j) / 50.0);
                    let prepared_point = PreparedPoint::new(point);
                    total += 1;
                    if prepared.decide(&prepared_point).is_some() {
                        decided += 1;
                    }
                    assert_eq!(
                        prepared.contains(&prepared_point),
                        shape.contains(point),
                        "{point:?} in {shape:?}"
                    );
                }
            }
        }
        assert!(
            decided * 10 > total * 7,
            "the cuts decided only {decided} of {total} points"
        );
    }

    #[test]
    fn tiny_radii_have_no_cut() {
        assert_eq!(RadiusCut::new(1.0), None);
        assert!(RadiusCut::new(100.0).is_some());
        assert_eq!(RadiusCut::new(10_000_000.0), None);
    }
}
