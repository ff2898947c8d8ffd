//! Parsing of `expiresIn`: a number of milliseconds, or a duration string such as `"2h"`.

use serde_json::Value;

use crate::error::{Result, SecurityError};

/// A token lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresIn {
    /// The token never expires (`-1`).
    Never,
    /// The token expires this many milliseconds after it is issued.
    After(u64),
}

const SECOND_MS: f64 = 1000.0;
const MINUTE_MS: f64 = 60.0 * SECOND_MS;
const HOUR_MS: f64 = 60.0 * MINUTE_MS;
const DAY_MS: f64 = 24.0 * HOUR_MS;
const WEEK_MS: f64 = 7.0 * DAY_MS;
const YEAR_MS: f64 = 365.25 * DAY_MS;

/// Returns the length in milliseconds of a duration unit, accepting the units and spellings of
/// the `ms` npm package that Kuzzle uses (case-insensitive).
fn unit_ms(unit: &str) -> Option<f64> {
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND_MS,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE_MS,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR_MS,
        "d" | "day" | "days" => DAY_MS,
        "w" | "week" | "weeks" => WEEK_MS,
        "y" | "yr" | "yrs" | "year" | "years" => YEAR_MS,
        _ => return None,
    };
    Some(factor)
}

fn invalid(value: &str, reason: &str) -> SecurityError {
    SecurityError::InvalidExpiration {
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Converts a number of milliseconds, `-1` meaning never.
fn from_ms(value: &str, milliseconds: f64) -> Result<ExpiresIn> {
    if milliseconds == -1.0 {
        return Ok(ExpiresIn::Never);
    }
    if !milliseconds.is_finite() || milliseconds < 0.0 {
        return Err(invalid(
            value,
            "a lifetime must be positive, or -1 for no expiry",
        ));
    }
    // Rounded up so that "1.5ms" does not become an already expired token. The cast saturates
    // at u64::MAX.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rounded = milliseconds.ceil() as u64;
    Ok(ExpiresIn::After(rounded))
}

/// Parses a duration string: a decimal number, optional spaces, and an optional unit
/// (`ms`, `s`, `m`, `h`, `d`, `w`, `y` or their long forms). Without a unit the number is in
/// milliseconds. `"-1"` means never.
pub fn parse_duration(text: &str) -> Result<ExpiresIn> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > 100 {
        return Err(invalid(
            text,
            "expected a duration such as `30s`, `2h`, `1d` or milliseconds",
        ));
    }

    let number_end = trimmed
        .char_indices()
        .find(|(position, character)| {
            !(character.is_ascii_digit()
                || *character == '.'
                || (*position == 0 && *character == '-'))
        })
        .map_or(trimmed.len(), |(position, _)| position);
    let (number, unit) = trimmed.split_at(number_end);

    let Ok(amount) = number.parse::<f64>() else {
        return Err(invalid(
            text,
            "expected a duration such as `30s`, `2h`, `1d` or milliseconds",
        ));
    };
    let Some(factor) = unit_ms(unit.trim_start()) else {
        return Err(invalid(text, "unknown unit; use ms, s, m, h, d, w or y"));
    };
    if amount == -1.0 && factor == 1.0 {
        return Ok(ExpiresIn::Never);
    }
    from_ms(text, amount * factor)
}

/// Parses an `expiresIn` request argument: a JSON number of milliseconds or a duration string.
/// Returns `None` when the argument is absent or null, so that the configured default applies.
///
/// # Errors
///
/// [`SecurityError::InvalidExpiration`] for any other value.
pub fn parse_expires_in(value: Option<&Value>) -> Result<Option<ExpiresIn>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => {
            let text = number.to_string();
            let milliseconds = number
                .as_f64()
                .ok_or_else(|| invalid(&text, "not a number"))?;
            from_ms(&text, milliseconds).map(Some)
        }
        Some(Value::String(text)) => parse_duration(text).map(Some),
        Some(other) => Err(invalid(
            &other.to_string(),
            "expected a number of milliseconds or a duration string",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn duration_strings_parse() {
        let cases = [
            ("2h", 7_200_000),
            ("30s", 30_000),
            ("1d", 86_400_000),
            ("1.5h", 5_400_000),
            ("100", 100),
            ("250ms", 250),
            ("10 minutes", 600_000),
            ("1 Week", 604_800_000),
            ("2 hrs", 7_200_000),
            (" 5m ", 300_000),
            ("1y", 31_557_600_000),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(ExpiresIn::After(expected)),
                "input {text:?}"
            );
        }
    }

    #[test]
    fn duration_minus_one_is_never() {
        assert_eq!(parse_duration("-1"), Ok(ExpiresIn::Never));
        assert_eq!(
            parse_expires_in(Some(&json!(-1))),
            Ok(Some(ExpiresIn::Never))
        );
    }

    #[test]
    fn duration_rejects_garbage() {
        for text in ["", "abc", "2 fortnights", "h", "-5s", "1.2.3s", "--1"] {
            let parsed = parse_duration(text);
            assert_eq!(
                parsed.map_err(|error| error.kuzzle_id()),
                Err("security.token.invalid_expiration"),
                "input {text:?}"
            );
        }
    }

    #[test]
    fn expires_in_argument_forms() {
        assert_eq!(parse_expires_in(None), Ok(None));
        assert_eq!(parse_expires_in(Some(&Value::Null)), Ok(None));
        assert_eq!(
            parse_expires_in(Some(&json!(3600))),
            Ok(Some(ExpiresIn::After(3600)))
        );
        assert_eq!(
            parse_expires_in(Some(&json!("1h"))),
            Ok(Some(ExpiresIn::After(3_600_000)))
        );
        assert!(parse_expires_in(Some(&json!(true))).is_err());
        assert!(parse_expires_in(Some(&json!(-20))).is_err());
    }
}
