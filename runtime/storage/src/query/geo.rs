//! Geo points and distances in the forms Elasticsearch and Koncorde accept.

use serde_json::Value;

/// A point on Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// Mean Earth radius in meters, the value Elasticsearch uses for `arc` distances.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl GeoPoint {
    /// Parses `{lat, lon}`, `[lon, lat]` (GeoJSON order), `"lat,lon"` or a geohash.
    pub fn parse(value: &Value) -> Option<Self> {
        let point = match value {
            Value::Object(map) => {
                if let Some(inner) = map.get("lat_lon").or_else(|| map.get("latLon")) {
                    return Self::parse_lat_lon(inner);
                }
                Self {
                    lat: number(map.get("lat")?)?,
                    lon: number(map.get("lon")?)?,
                }
            }
            Value::Array(items) if items.len() == 2 => Self {
                lat: number(&items[1])?,
                lon: number(&items[0])?,
            },
            Value::String(text) => return parse_text(text),
            _ => return None,
        };
        point.is_valid().then_some(point)
    }

    /// Parses Koncorde's `lat_lon` forms, where an array is `[lat, lon]`.
    fn parse_lat_lon(value: &Value) -> Option<Self> {
        match value {
            Value::Array(items) if items.len() == 2 => {
                let point = Self {
                    lat: number(&items[0])?,
                    lon: number(&items[1])?,
                };
                point.is_valid().then_some(point)
            }
            other => Self::parse(other),
        }
    }

    fn is_valid(&self) -> bool {
        (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lon)
    }

    /// Returns the great-circle distance to another point, in meters.
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn parse_text(text: &str) -> Option<GeoPoint> {
    if let Some((lat, lon)) = text.split_once(',') {
        let point = GeoPoint {
            lat: lat.trim().parse().ok()?,
            lon: lon.trim().parse().ok()?,
        };
        return point.is_valid().then_some(point);
    }
    decode_geohash(text)
}

fn decode_geohash(hash: &str) -> Option<GeoPoint> {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    if hash.is_empty() || hash.len() > 12 {
        return None;
    }
    let (mut lat, mut lon) = ((-90.0_f64, 90.0_f64), (-180.0_f64, 180.0_f64));
    let mut even = true;
    for byte in hash.bytes() {
        let bits = ALPHABET
            .iter()
            .position(|c| *c == byte.to_ascii_lowercase())?;
        for shift in (0..5).rev() {
            let bit = (bits >> shift) & 1 == 1;
            let range = if even { &mut lon } else { &mut lat };
            let middle = (range.0 + range.1) / 2.0;
            if bit {
                range.0 = middle
            } else {
                range.1 = middle
            }
            even = !even;
        }
    }
    Some(GeoPoint {
        lat: (lat.0 + lat.1) / 2.0,
        lon: (lon.0 + lon.1) / 2.0,
    })
}

/// Parses a distance: a number of meters or `"<n><unit>"` with m, km, cm, mm, mi, yd, ft, in
/// or nmi, optionally separated by spaces.
pub fn parse_distance_m(value: &Value) -> Option<f64> {
    let text = match value {
        Value::Number(number) => return number.as_f64(),
        Value::String(text) => text.trim().to_ascii_lowercase(),
        _ => return None,
    };
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))?;
    let (amount, unit) = text.split_at(split);
    let amount: f64 = amount.parse().ok()?;
    let factor = match unit.trim() {
        "" | "m" | "meters" => 1.0,
        "km" | "kilometers" => 1000.0,
        "cm" => 0.01,
        "mm" => 0.001,
        "mi" | "miles" => 1609.344,
        "yd" | "yards" => 0.9144,
        "ft" | "feet" => 0.3048,
        "in" | "inch" => 0.0254,
        "nmi" | "nm" => 1852.0,
        _ => return None,
    };
    Some(amount * factor)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn point_forms_parse() {
        let expected = GeoPoint {
            lat: 43.6,
            lon: 3.9,
        };
        assert_eq!(
            GeoPoint::parse(&json!({"lat": 43.6, "lon": 3.9})),
            Some(expected)
        );
        assert_eq!(GeoPoint::parse(&json!([3.9, 43.6])), Some(expected));
        assert_eq!(GeoPoint::parse(&json!("43.6, 3.9")), Some(expected));
        let hashed = GeoPoint::parse(&json!("spfb09p")).unwrap();
        assert!((hashed.lat - 43.6).abs() < 0.01, "{hashed:?}");
        assert!((hashed.lon - 3.9).abs() < 0.01, "{hashed:?}");
        assert_eq!(GeoPoint::parse(&json!({"lat": 95, "lon": 0})), None);
    }

    #[test]
    fn distance_parses_units() {
        assert_eq!(parse_distance_m(&json!("2km")), Some(2000.0));
        assert_eq!(parse_distance_m(&json!("10 m")), Some(10.0));
        assert_eq!(parse_distance_m(&json!(5)), Some(5.0));
        assert_eq!(parse_distance_m(&json!("3 parsecs")), None);
    }

    #[test]
    fn haversine_paris_london() {
        let paris = GeoPoint {
            lat: 48.8566,
            lon: 2.3522,
        };
        let london = GeoPoint {
            lat: 51.5074,
            lon: -0.1278,
        };
        let km = paris.distance_m(&london) / 1000.0;
        assert!((340.0..345.0).contains(&km), "{km}");
    }
}
