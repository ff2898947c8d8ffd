//! The AuthnRequest of an SP-initiated login, sent with the HTTP-Redirect binding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::settings::Settings;
use crate::time::format_utc;
use crate::xml_escape::escape;

/// Maximum length of a `RelayState`, in bytes (SAML 2.0 bindings).
pub const MAX_RELAY_STATE_BYTES: usize = 80;

/// Builds the AuthnRequest XML with the id `id`, issued at `now_ms`.
pub fn authn_request_xml(settings: &Settings, id: &str, now_ms: u64) -> String {
    format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{instant}" Destination="{destination}" "#,
            r#"AssertionConsumerServiceURL="{acs}" "#,
            r#"ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy Format="{format}" AllowCreate="true"/>"#,
            r#"</samlp:AuthnRequest>"#
        ),
        id = escape(id),
        instant = format_utc(now_ms),
        destination = escape(&settings.idp_sso_url),
        acs = escape(&settings.acs_url),
        issuer = escape(&settings.entity_id),
        format = escape(&settings.name_id_format),
    )
}

/// Builds the IdP URL that carries `request_xml` with the HTTP-Redirect binding: raw DEFLATE,
/// then base64, then URL encoding, plus the `RelayState` when there is one.
pub fn redirect_url(idp_sso_url: &str, request_xml: &str, relay_state: Option<&str>) -> String {
    let deflated = miniz_oxide::deflate::compress_to_vec(request_xml.as_bytes(), 6);
    let encoded = STANDARD.encode(deflated);

    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("SAMLRequest", &encoded);
    if let Some(relay_state) = relay_state {
        query.append_pair("RelayState", relay_state);
    }
    let separator = if idp_sso_url.contains('?') { '&' } else { '?' };
    format!("{idp_sso_url}{separator}{}", query.finish())
}

#[cfg(test)]
mod tests {
    use palisade_plugin_sdk::json;

    use super::*;

    #[test]
    fn request_names_sp_and_acs() {
        let settings = Settings::parse(&json!({
            "entityId": "http://127.0.0.1:7512/saml/sp",
            "acsUrl": "http://127.0.0.1:7512/_login/saml",
            "idpSsoUrl": "http://127.0.0.1:8080/sso?x=<1>",
            "idpEntityId": "http://127.0.0.1/test-idp",
            "idpCertificate": include_str!("../testdata/idp-certificate.pem"),
        }))
        .expect("valid settings");
        let xml = authn_request_xml(&settings, "_abc", 1_796_421_600_000);
        let document = roxmltree::Document::parse(&xml).expect("well-formed request");
        let request = document.root_element();

        assert_eq!(request.tag_name().name(), "AuthnRequest");
        assert_eq!(request.attribute("ID"), Some("_abc"));
        assert_eq!(
            request.attribute("IssueInstant"),
            Some("2026-12-04T22:00:00Z")
        );
        assert_eq!(
            request.attribute("Destination"),
            Some("http://127.0.0.1:8080/sso?x=<1>")
        );
        assert_eq!(
            request.attribute("AssertionConsumerServiceURL"),
            Some("http://127.0.0.1:7512/_login/saml")
        );
        let issuer = request.first_element_child().expect("an Issuer");
        assert_eq!(issuer.text(), Some("http://127.0.0.1:7512/saml/sp"));
    }

    #[test]
    fn redirect_url_inflates_to_request() {
        let xml = "<samlp:AuthnRequest ID=\"_a\"/>";
        let url = redirect_url("http://127.0.0.1:9/sso?tenant=1", xml, Some("back to /"));

        assert!(url.starts_with("http://127.0.0.1:9/sso?tenant=1&SAMLRequest="));
        let query = url.split_once('?').expect("a query").1;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(pairs[2], ("RelayState".to_owned(), "back to /".to_owned()));

        let deflated = STANDARD.decode(&pairs[1].1).expect("base64");
        let inflated = miniz_oxide::inflate::decompress_to_vec(&deflated).expect("raw deflate");
        assert_eq!(inflated, xml.as_bytes());
    }
}
