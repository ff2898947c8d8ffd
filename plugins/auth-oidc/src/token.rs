//! The token request of the authorization code grant (RFC 6749, section 4.1.3, with the PKCE
//! verifier of RFC 7636).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use palisade_plugin_sdk::ApiError;
use palisade_plugin_sdk::http::{self, OutgoingRequest};
use serde_json::Value;
use url::form_urlencoded;

use crate::provider::{Metadata, provider_error};
use crate::settings::{ClientAuth, Settings};

/// Exchanges `code` for tokens and returns the ID token.
///
/// # Errors
///
/// `Ok(Err(reason))` when the provider rejects the code (a 4xx response, such as `invalid_grant`
/// for a used code), and a 502 `plugin.oidc.provider_error` for other failures.
pub fn exchange_code(
    settings: &Settings,
    metadata: &Metadata,
    code: &str,
    verifier: &str,
) -> Result<Result<String, String>, ApiError> {
    let request = token_request(settings, metadata, code, verifier);
    let response = http::send(&request)?;
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();

    if (400..500).contains(&response.status) {
        let error = body.as_ref().and_then(|body| body.get("error")).cloned();
        let description = body
            .as_ref()
            .and_then(|body| body.get("error_description"))
            .cloned();
        return Ok(Err(format!(
            "the token endpoint rejected the code with HTTP {}: error {}, description {}",
            response.status,
            error.unwrap_or(Value::Null),
            description.unwrap_or(Value::Null)
        )));
    }
    if response.status != 200 {
        return Err(provider_error(format!(
            "The token endpoint {} returned HTTP {}.",
            metadata.token_endpoint, response.status
        )));
    }

    match body.as_ref().and_then(|body| body.get("id_token")) {
        Some(Value::String(id_token)) => Ok(Ok(id_token.clone())),
        _ => Err(provider_error(format!(
            "The token endpoint {} returned no id_token; check that the \"openid\" scope is allowed for the client.",
            metadata.token_endpoint
        ))),
    }
}

fn token_request(
    settings: &Settings,
    metadata: &Metadata,
    code: &str,
    verifier: &str,
) -> OutgoingRequest {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &settings.redirect_uri)
        .append_pair("code_verifier", verifier);

    let mut headers = vec![
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    match settings.client_auth {
        ClientAuth::SecretBasic => {
            headers.push(("Authorization".to_owned(), basic_authorization(settings)));
        }
        ClientAuth::SecretPost => {
            form.append_pair("client_id", &settings.client_id)
                .append_pair("client_secret", &settings.client_secret);
        }
    }

    OutgoingRequest {
        method: "POST".to_owned(),
        url: metadata.token_endpoint.clone(),
        headers,
        body: form.finish().into_bytes(),
        timeout_ms: settings.http_timeout_ms,
    }
}

/// Returns `Basic base64(id:secret)`, with both form-urlencoded first as RFC 6749, section
/// 2.3.1 requires.
fn basic_authorization(settings: &Settings) -> String {
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let pair = format!(
        "{}:{}",
        encode(&settings.client_id),
        encode(&settings.client_secret)
    );
    format!("Basic {}", STANDARD.encode(pair))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn basic_authorization_encodes_special_characters() {
        let settings = Settings::from_json(&json!({
            "issuer": "http://127.0.0.1:4000",
            "clientId": "palisade app",
            "clientSecret": "s:cr/t",
            "redirectUri": "http://127.0.0.1:7512/_login/oidc",
        }))
        .expect("valid settings");

        let header = basic_authorization(&settings);

        assert_eq!(
            header,
            format!("Basic {}", STANDARD.encode("palisade+app:s%3Acr%2Ft"))
        );
    }
}
