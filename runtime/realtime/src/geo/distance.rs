//! Distances in filters: metres as a JSON number, or a string with a unit.

use serde_json::Value;

/// Length units and their size in metres. A unit may carry an SI prefix (`km`, `kilometre`).
const UNITS: &[(&str, f64)] = &[
    ("m", 1.0),
    ("meter", 1.0),
    ("meters", 1.0),
    ("metre", 1.0),
    ("metres", 1.0),
    ("ft", 0.3048),
    ("feet", 0.3048),
    ("in", 0.0254),
    ("inch", 0.0254),
    ("inches", 0.0254),
    ("yd", 0.9144),
    ("yard", 0.9144),
    ("yards", 0.9144),
    // Koncorde 4.7.0 (through node-units 0.1.7) uses this rounded mile.
    ("mi", 1609.34),
    ("mile", 1609.34),
    ("miles", 1609.34),
];

/// SI prefixes, as symbols and names. Symbols are read after lowercasing, like Koncorde does,
/// so `Mm` reads as millimetres; spell `mega` out for 10^6.
const PREFIXES: &[(&str, f64)] = &[
    ("yocto", 1e-24),
    ("zepto", 1e-21),
    ("atto", 1e-18),
    ("femto", 1e-15),
    ("pico", 1e-12),
    ("nano", 1e-9),
    ("micro", 1e-6),
    ("milli", 1e-3),
    ("centi", 1e-2),
    ("deci", 1e-1),
    ("deca", 1e1),
    ("deka", 1e1),
    ("hecto", 1e2),
    ("kilo", 1e3),
    ("mega", 1e6),
    ("giga", 1e9),
    ("tera", 1e12),
    ("peta", 1e15),
    ("exa", 1e18),
    ("zetta", 1e21),
    ("yotta", 1e24),
    ("da", 1e1),
    ("y", 1e-24),
    ("z", 1e-21),
    ("a", 1e-18),
    ("f", 1e-15),
    ("p", 1e-12),
    ("n", 1e-9),
    ("m", 1e-3),
    ("c", 1e-2),
    ("d", 1e-1),
    ("h", 1e2),
    ("k", 1e3),
];

/// Converts a distance to metres.
///
/// Accepts a non-negative JSON number (metres) or a string such as `"500m"`, `"1.5 km"`,
/// `"3 258,55 ft"`: spaces and dashes are dropped, a comma is a decimal point, and the unit is
/// one of m, ft, in, yd, mi (or their names), with an optional SI prefix.
///
/// # Errors
///
/// Returns a message naming the value when it is not a distance.
pub fn parse_distance(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(metres) if metres >= 0.0 && metres.is_finite() => Ok(metres),
            _ => Err(format!(
                "invalid distance `{n}`: expected metres, 0 or more"
            )),
        },
        Value::String(s) => parse_distance_string(s).ok_or_else(|| {
            format!(
                "invalid distance `{s}`: expected a number and a unit (m, ft, in, yd, mi, with \
                 an optional SI prefix), like \"500m\""
            )
        }),
        other => Err(format!(
            "invalid distance `{other}`: expected a string like \"500m\""
        )),
    }
}

fn parse_distance_string(s: &str) -> Option<f64> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| if c == ',' { '.' } else { c })
        .collect::<String>()
        .to_lowercase();
    let split = cleaned.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = cleaned.split_at(split);
    let number: f64 = number.parse().ok()?;
    let metres = number * unit_size(unit)?;
    metres.is_finite().then_some(metres)
}

fn unit_size(unit: &str) -> Option<f64> {
    if let Some((_, size)) = UNITS.iter().find(|(name, _)| *name == unit) {
        return Some(*size);
    }
    PREFIXES.iter().find_map(|(prefix, factor)| {
        let rest = unit.strip_prefix(prefix)?;
        UNITS
            .iter()
            .find(|(name, _)| *name == rest)
            .map(|(_, size)| factor * size)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metres(s: &str) -> f64 {
        parse_distance(&json!(s)).unwrap()
    }

    #[test]
    fn units_and_prefixes() {
        assert_eq!(metres("1km"), 1000.0);
        assert_eq!(metres("1 km"), 1000.0);
        assert_eq!(metres("1,5km"), 1500.0);
        assert_eq!(metres("10 meters"), 10.0);
        assert_eq!(metres("1 kilometer"), 1000.0);
        assert_eq!(metres("1yd"), 0.9144);
        assert_eq!(metres("1mi"), 1609.34);
        assert_eq!(metres("2in"), 0.0508);
        assert_eq!(metres("1 cm"), 0.01);
        assert_eq!(metres("1 dam"), 10.0);
        assert_eq!(metres("1Mm"), 0.001);
        assert_eq!(metres("3 258,55 Ft"), 3258.55 * 0.3048);
    }

    #[test]
    fn numbers_are_metres() {
        assert_eq!(parse_distance(&json!(250)), Ok(250.0));
        assert!(parse_distance(&json!(-1)).is_err());
    }

    #[test]
    fn rejects_unknown_units() {
        let huge = format!("{}km", "9".repeat(400));
        for bad in ["1000", "bad", "1 parsec", "km", huge.as_str()] {
            let error = parse_distance(&json!(bad)).unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }
}
