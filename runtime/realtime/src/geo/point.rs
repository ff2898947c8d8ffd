//! Geopoints in every notation Koncorde accepts, in filters and in documents.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::json::js_to_string;

/// A point in degrees of latitude and longitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

static GEOHASH: LazyLock<Regex> = LazyLock::new(|| Regex::new("^[0-9a-z]{4,}$").unwrap());
static LEADING_FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[+-]?(Infinity|[0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)")
        .unwrap()
});

/// Parses a geopoint: `[lat, lon]`, `"lat, lon"`, a geohash, `{lat, lon}`, or `{latLon}` /
/// `{lat_lon}` holding any of the array, object or string forms.
///
/// Returns `None` when the value is no geopoint. Coordinates are read with JavaScript's
/// `parseFloat` rules, as Koncorde does, so `"12abc"` reads as 12.
pub fn parse_geopoint(value: &Value) -> Option<GeoPoint> {
    match value {
        Value::String(s) if !s.is_empty() => from_string(s),
        Value::Array(items) => from_pair(items),
        Value::Object(map) => {
            if let (Some(lat), Some(lon)) = (map.get("lat"), map.get("lon")) {
                return to_point(lat, lon);
            }
            match map.get("latLon").or_else(|| map.get("lat_lon"))? {
                Value::Array(items) => from_pair(items),
                Value::Object(inner) => to_point(inner.get("lat")?, inner.get("lon")?),
                Value::String(s) => from_string(s),
                _ => None,
            }
        }
        _ => None,
    }
}

fn from_pair(items: &[Value]) -> Option<GeoPoint> {
    match items {
        [lat, lon] => to_point(lat, lon),
        _ => None,
    }
}

fn from_string(s: &str) -> Option<GeoPoint> {
    let parts: Vec<&str> = s.split(',').collect();
    if let [lat, lon] = parts.as_slice() {
        return Some(GeoPoint {
            lat: parse_float(lat)?,
            lon: parse_float(lon)?,
        });
    }
    if GEOHASH.is_match(s) {
        return Some(decode_geohash(s));
    }
    None
}

fn to_point(lat: &Value, lon: &Value) -> Option<GeoPoint> {
    let as_float = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        other => parse_float(&js_to_string(other)),
    };
    Some(GeoPoint {
        lat: as_float(lat)?,
        lon: as_float(lon)?,
    })
}

/// Reads the leading number of a string like JavaScript's `parseFloat`.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let trimmed = s.trim_start();
    let prefix = LEADING_FLOAT.find(trimmed)?.as_str();
    match prefix.trim_start_matches(['+', '-']) {
        "Infinity" if prefix.starts_with('-') => Some(f64::NEG_INFINITY),
        "Infinity" => Some(f64::INFINITY),
        _ => prefix.parse().ok(),
    }
}

/// Decodes a geohash to the centre of its cell. Characters outside the geohash alphabet count
/// as zero bits.
fn decode_geohash(hash: &str) -> GeoPoint {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (mut min_lat, mut max_lat) = (-90.0_f64, 90.0_f64);
    let (mut min_lon, mut max_lon) = (-180.0_f64, 180.0_f64);
    let mut is_lon = true;

    for c in hash.bytes() {
        let code = ALPHABET.iter().position(|&a| a == c).unwrap_or(0);
        for bit in (0..5).rev() {
            let set = (code >> bit) & 1 == 1;
            let (min, max) = if is_lon {
                (&mut min_lon, &mut max_lon)
            } else {
                (&mut min_lat, &mut max_lat)
            };
            let mid = (*min + *max) / 2.0;
            if set {
                *min = mid;
            } else {
                *max = mid;
            }
            is_lon = !is_lon;
        }
    }
    GeoPoint {
        lat: (min_lat + max_lat) / 2.0,
        lon: (min_lon + max_lon) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn point(lat: f64, lon: f64) -> Option<GeoPoint> {
        Some(GeoPoint { lat, lon })
    }

    #[test]
    fn every_notation() {
        assert_eq!(parse_geopoint(&json!([43.6, 3.9])), point(43.6, 3.9));
        assert_eq!(parse_geopoint(&json!("43.6, 3.9")), point(43.6, 3.9));
        assert_eq!(
            parse_geopoint(&json!({"lat": 43.6, "lon": 3.9})),
            point(43.6, 3.9)
        );
        assert_eq!(
            parse_geopoint(&json!({"latLon": [43.6, 3.9]})),
            point(43.6, 3.9)
        );
        assert_eq!(
            parse_geopoint(&json!({"lat_lon": "43.6,3.9"})),
            point(43.6, 3.9)
        );
        assert_eq!(
            parse_geopoint(&json!({"latLon": {"lat": "43.6", "lon": 3.9}})),
            point(43.6, 3.9)
        );
    }

    #[test]
    fn geohash_decodes_to_cell_centre() {
        // Values printed by ngeohash 0.6.3, the decoder Koncorde 4.7.0 uses.
        assert_eq!(
            parse_geopoint(&json!("spey61y")),
            point(43.29643249511719, 5.3702545166015625)
        );
        assert_eq!(
            parse_geopoint(&json!("ezs42")),
            point(42.60498046875, -5.60302734375)
        );
    }

    #[test]
    fn rejects_non_points() {
        assert_eq!(parse_geopoint(&json!([1])), None);
        assert_eq!(parse_geopoint(&json!("abc")), None);
        assert_eq!(parse_geopoint(&json!("x, 3")), None);
        assert_eq!(parse_geopoint(&json!({"lat": 1})), None);
        assert_eq!(parse_geopoint(&json!(12)), None);
        assert_eq!(parse_geopoint(&json!([null, 1])), None);
    }

    #[test]
    fn parse_float_reads_prefix() {
        assert_eq!(parse_float(" 12abc"), Some(12.0));
        assert_eq!(parse_float("-1.5e2x"), Some(-150.0));
        assert_eq!(parse_float("abc"), None);
    }
}
