//! Elasticsearch date math in queries: `now-1d/d`, `2024-01-31||+1M`.

use chrono::{DateTime, Datelike, Days, Months, NaiveTime, TimeDelta, Timelike, Utc};
use serde_json::Value;

use super::value::parse_date_millis;

/// How a `/unit` rounding resolves, which depends on the range bound it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// To the first millisecond of the unit (`gte`, `lt`, terms).
    Down,
    /// To the last millisecond of the unit (`gt`, `lte`), as Elasticsearch does.
    Up,
}

/// Parses a date value of a query: epoch milliseconds, ISO 8601, or date math.
pub fn parse_query_date(value: &Value, rounding: Rounding, now: DateTime<Utc>) -> Option<i64> {
    let Value::String(text) = value else {
        return parse_date_millis(value);
    };
    let text = text.trim();
    let (anchor, expression) = if let Some(rest) = text.strip_prefix("now") {
        (now, rest)
    } else if let Some((date, rest)) = text.split_once("||") {
        let millis = parse_date_millis(&Value::String(date.to_owned()))?;
        (DateTime::from_timestamp_millis(millis)?, rest)
    } else {
        return parse_date_millis(value);
    };
    apply(anchor, expression, rounding).map(|date| date.timestamp_millis())
}

fn apply(
    mut date: DateTime<Utc>,
    mut expression: &str,
    rounding: Rounding,
) -> Option<DateTime<Utc>> {
    while let Some(operator) = expression.chars().next() {
        let rest = &expression[1..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let (amount, rest) = rest.split_at(digits);
        let mut units = rest.chars();
        let unit = units.next()?;
        expression = units.as_str();
        date = match operator {
            '+' | '-' => {
                let amount: i64 = if amount.is_empty() {
                    1
                } else {
                    amount.parse().ok()?
                };
                let signed = if operator == '-' { -amount } else { amount };
                shift(date, signed, unit)?
            }
            '/' if amount.is_empty() => round(date, unit, rounding)?,
            _ => return None,
        };
    }
    Some(date)
}

fn shift(date: DateTime<Utc>, amount: i64, unit: char) -> Option<DateTime<Utc>> {
    let months = |count: i64| Months::new(u32::try_from(count.unsigned_abs()).ok()?).into();
    let shifted: Option<DateTime<Utc>> = match unit {
        'y' | 'M' => {
            let count = if unit == 'y' {
                amount.checked_mul(12)?
            } else {
                amount
            };
            let months: Option<Months> = months(count);
            if count >= 0 {
                date.checked_add_months(months?)
            } else {
                date.checked_sub_months(months?)
            }
        }
        'w' => date.checked_add_signed(TimeDelta::try_weeks(amount)?),
        'd' => date.checked_add_signed(TimeDelta::try_days(amount)?),
        'h' | 'H' => date.checked_add_signed(TimeDelta::try_hours(amount)?),
        'm' => date.checked_add_signed(TimeDelta::try_minutes(amount)?),
        's' => date.checked_add_signed(TimeDelta::try_seconds(amount)?),
        _ => None,
    };
    shifted
}

fn round(date: DateTime<Utc>, unit: char, rounding: Rounding) -> Option<DateTime<Utc>> {
    let day = date.date_naive();
    let start = match unit {
        'y' => day.with_day(1)?.with_month(1)?.and_time(NaiveTime::MIN),
        'M' => day.with_day(1)?.and_time(NaiveTime::MIN),
        'w' => (day - Days::new(u64::from(day.weekday().num_days_from_monday())))
            .and_time(NaiveTime::MIN),
        'd' => day.and_time(NaiveTime::MIN),
        'h' | 'H' => date
            .naive_utc()
            .date()
            .and_hms_opt(date.time().hour(), 0, 0)?,
        'm' => date
            .naive_utc()
            .date()
            .and_hms_opt(date.time().hour(), date.time().minute(), 0)?,
        's' => date.naive_utc().date().and_hms_opt(
            date.time().hour(),
            date.time().minute(),
            date.time().second(),
        )?,
        _ => return None,
    }
    .and_utc();
    match rounding {
        Rounding::Down => Some(start),
        Rounding::Up => Some(shift(start, 1, unit)? - TimeDelta::milliseconds(1)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn parse(text: &str, rounding: Rounding) -> DateTime<Utc> {
        let now = at("2024-03-15T10:20:30Z");
        let millis = parse_query_date(&json!(text), rounding, now).unwrap();
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    #[test]
    fn now_arithmetic() {
        assert_eq!(parse("now", Rounding::Down), at("2024-03-15T10:20:30Z"));
        assert_eq!(parse("now-1d", Rounding::Down), at("2024-03-14T10:20:30Z"));
        assert_eq!(
            parse("now+2h-30m", Rounding::Down),
            at("2024-03-15T11:50:30Z")
        );
        assert_eq!(parse("now-1M", Rounding::Down), at("2024-02-15T10:20:30Z"));
        assert_eq!(parse("now-1y", Rounding::Down), at("2023-03-15T10:20:30Z"));
    }

    #[test]
    fn rounding_depends_on_bound() {
        assert_eq!(parse("now/d", Rounding::Down), at("2024-03-15T00:00:00Z"));
        assert_eq!(parse("now/d", Rounding::Up), at("2024-03-15T23:59:59.999Z"));
        assert_eq!(parse("now/M", Rounding::Down), at("2024-03-01T00:00:00Z"));
        assert_eq!(parse("now/w", Rounding::Down), at("2024-03-11T00:00:00Z"));
        assert_eq!(
            parse("now-1d/d", Rounding::Down),
            at("2024-03-14T00:00:00Z")
        );
    }

    #[test]
    fn anchored_dates() {
        assert_eq!(
            parse("2024-01-31||+1d", Rounding::Down),
            at("2024-02-01T00:00:00Z")
        );
        assert_eq!(
            parse("2024-01-31", Rounding::Down),
            at("2024-01-31T00:00:00Z")
        );
        let now = at("2024-03-15T10:20:30Z");
        assert_eq!(
            parse_query_date(&json!("now-1x"), Rounding::Down, now),
            None
        );
        assert_eq!(parse_query_date(&json!("now/"), Rounding::Down, now), None);
    }
}
