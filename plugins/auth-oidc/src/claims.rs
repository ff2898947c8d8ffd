//! The ID token claim checks of OpenID Connect Core 1.0, section 3.1.3.7.

use serde_json::{Map, Value};

/// Values that the claims of an ID token must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The configured issuer, compared exactly.
    pub issuer: &'a str,
    /// The plugin's client id.
    pub client_id: &'a str,
    /// The nonce sent with the authorization request.
    pub nonce: &'a str,
    /// The current time, in seconds since the Unix epoch.
    pub now_seconds: u64,
    /// Tolerance in seconds for `exp`, `iat` and `nbf`.
    pub clock_skew_seconds: u64,
}

/// Checks `iss`, `aud`, `azp`, `exp`, `iat`, `nbf` and `nonce`.
///
/// # Errors
///
/// A message naming the first claim that fails, for the server's logs.
pub fn check(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<(), String> {
    check_issuer(claims, expected.issuer)?;
    check_audience(claims, expected.client_id)?;
    check_times(claims, expected)?;

    match claims.get("nonce") {
        Some(Value::String(nonce)) if nonce == expected.nonce => Ok(()),
        Some(_) => Err("the ID token nonce does not match the login's nonce".to_owned()),
        None => Err("the ID token has no nonce".to_owned()),
    }
}

fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), String> {
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == issuer => Ok(()),
        Some(iss) => Err(format!(
            "the ID token issuer {iss} is not the configured issuer \"{issuer}\""
        )),
        None => Err("the ID token has no iss claim".to_owned()),
    }
}

/// `aud` must contain the client id. With several audiences, `azp` must be present and be the
/// client id; a present `azp` must be the client id in every case.
fn check_audience(claims: &Map<String, Value>, client_id: &str) -> Result<(), String> {
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return Err("the ID token has no aud claim".to_owned()),
    };
    if !audiences.contains(&client_id) {
        return Err(format!(
            "the ID token audience {audiences:?} does not contain the client id \"{client_id}\""
        ));
    }

    match claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        Some(azp) => Err(format!(
            "the ID token azp {azp} is not the client id \"{client_id}\""
        )),
        None if audiences.len() > 1 => {
            Err("the ID token has several audiences and no azp claim".to_owned())
        }
        None => Ok(()),
    }
}

fn check_times(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<(), String> {
    let now = expected.now_seconds;
    let skew = expected.clock_skew_seconds;

    let exp = numeric_date(claims, "exp")?.ok_or("the ID token has no exp claim")?;
    if now > exp.saturating_add(skew) {
        return Err(format!(
            "the ID token expired at {exp}, {} s ago (clock skew allowed: {skew} s)",
            now - exp
        ));
    }

    let iat = numeric_date(claims, "iat")?.ok_or("the ID token has no iat claim")?;
    if iat > now.saturating_add(skew) {
        return Err(format!(
            "the ID token was issued at {iat}, {} s in the future (clock skew allowed: {skew} s)",
            iat - now
        ));
    }

    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(skew)
    {
        return Err(format!("the ID token is not valid before {nbf}"));
    }
    Ok(())
}

/// Reads a NumericDate claim: seconds since the Unix epoch, possibly with a fraction.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|seconds| *seconds >= 0.0)
                    .map(|s| s as u64)
            })
            .map(Some)
            .ok_or_else(|| format!("the ID token {name} claim {value} is not a NumericDate")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "http://127.0.0.1:4000",
            client_id: "palisade",
            nonce: "n-0S6_WzA2Mj",
            now_seconds: NOW,
            clock_skew_seconds: 30,
        }
    }

    fn valid_claims() -> Map<String, Value> {
        json!({
            "iss": "http://127.0.0.1:4000",
            "sub": "ada",
            "aud": "palisade",
            "exp": NOW + 300,
            "iat": NOW,
            "nonce": "n-0S6_WzA2Mj",
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn check_with(changes: Value) -> Result<(), String> {
        let mut claims = valid_claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.remove(name);
            } else {
                claims.insert(name.clone(), value.clone());
            }
        }
        check(&claims, &expected())
    }

    #[test]
    fn valid_claims_accepted() {
        assert_eq!(check_with(json!({})), Ok(()));
    }

    #[test]
    fn issuer_must_match_exactly() {
        assert!(check_with(json!({"iss": "http://127.0.0.1:4000/"})).is_err());
        assert!(check_with(json!({"iss": null})).is_err());
    }

    #[test]
    fn audience_must_contain_client_id() {
        assert!(check_with(json!({"aud": "other"})).is_err());
        assert!(check_with(json!({"aud": ["other", "third"]})).is_err());
        assert!(check_with(json!({"aud": null})).is_err());
        assert_eq!(check_with(json!({"aud": ["palisade"]})), Ok(()));
    }

    #[test]
    fn several_audiences_need_azp() {
        let audiences = json!(["palisade", "other"]);

        assert!(check_with(json!({"aud": audiences})).is_err());
        assert!(check_with(json!({"aud": audiences, "azp": "other"})).is_err());
        assert_eq!(
            check_with(json!({"aud": audiences, "azp": "palisade"})),
            Ok(())
        );
    }

    #[test]
    fn expiry_allows_clock_skew() {
        assert_eq!(check_with(json!({"exp": NOW - 30})), Ok(()));
        assert!(check_with(json!({"exp": NOW - 31})).is_err());
        assert!(check_with(json!({"exp": null})).is_err());
        assert!(check_with(json!({"exp": "tomorrow"})).is_err());
    }

    #[test]
    fn future_iat_rejected() {
        assert_eq!(check_with(json!({"iat": NOW + 30})), Ok(()));
        assert!(check_with(json!({"iat": NOW + 31})).is_err());
        assert!(check_with(json!({"iat": null})).is_err());
    }

    #[test]
    fn future_nbf_rejected() {
        assert_eq!(check_with(json!({"nbf": NOW})), Ok(()));
        assert!(check_with(json!({"nbf": NOW + 31})).is_err());
    }

    #[test]
    fn nonce_must_match() {
        assert!(check_with(json!({"nonce": "other"})).is_err());
        assert!(check_with(json!({"nonce": null})).is_err());
    }
}
