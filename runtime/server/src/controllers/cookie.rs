//! The `authToken` cookie of HTTP cookie authentication (`cookieAuth`).

/// Builds the `Set-Cookie` value that stores a token. A token without expiry gets a session
/// cookie.
pub fn set(token: &str, expires_at: Option<u64>) -> String {
    let mut cookie = format!("authToken={token}; HttpOnly; Path=/; SameSite=Strict");
    if let Some(expires_at) = expires_at {
        cookie.push_str("; Expires=");
        cookie.push_str(&http_date(expires_at / 1000));
    }
    cookie
}

/// Builds the `Set-Cookie` value that removes the token, as `auth:logout` does.
pub fn clear() -> String {
    format!(
        "authToken=null; HttpOnly; Path=/; SameSite=Strict; Expires={}",
        http_date(0)
    )
}

/// Formats seconds since the Unix epoch as an HTTP date (RFC 9110 IMF-fixdate), such as
/// `Thu, 01 Jan 1970 00:00:00 GMT`.
fn http_date(seconds: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = seconds / 86_400;
    let time = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// Converts days since 1970-01-01 to a (year, month, day) date of the proleptic Gregorian
/// calendar, with Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_known_values() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_798_761_599), "Thu, 31 Dec 2026 23:59:59 GMT");
    }

    #[test]
    fn cookie_carries_token_and_expiry() {
        let cookie = set("kauth-abc", Some(1000));
        assert_eq!(
            cookie,
            "authToken=kauth-abc; HttpOnly; Path=/; SameSite=Strict; \
             Expires=Thu, 01 Jan 1970 00:00:01 GMT"
        );
        assert!(clear().starts_with("authToken=null;"));
    }
}
