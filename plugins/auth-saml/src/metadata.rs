//! The SP metadata (SAML 2.0 metadata, `EntityDescriptor`) that operators give the IdP.

use crate::settings::Settings;
use crate::xml_escape::escape;

/// Media type of SAML metadata (SAML 2.0 metadata).
pub const CONTENT_TYPE: &str = "application/samlmetadata+xml";

/// Builds the SP's `EntityDescriptor`: entity id, ACS URL with the HTTP-POST binding, and the
/// requested NameID format.
pub fn entity_descriptor(settings: &Settings) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="false" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:NameIDFormat>{format}</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" "#,
            r#"Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor>"#,
            r#"</md:EntityDescriptor>"#,
            "\n"
        ),
        entity_id = escape(&settings.entity_id),
        format = escape(&settings.name_id_format),
        acs = escape(&settings.acs_url),
    )
}

#[cfg(test)]
mod tests {
    use palisade_plugin_sdk::json;

    use super::*;

    #[test]
    fn descriptor_names_entity_and_acs() {
        let settings = Settings::parse(&json!({
            "entityId": "http://127.0.0.1:7512/saml/sp?a=1&b=2",
            "acsUrl": "http://127.0.0.1:7512/_login/saml",
            "idpSsoUrl": "http://127.0.0.1:8080/sso",
            "idpEntityId": "http://127.0.0.1/test-idp",
            "idpCertificate": include_str!("../testdata/idp-certificate.pem"),
        }))
        .expect("valid settings");
        let xml = entity_descriptor(&settings);
        let document = roxmltree::Document::parse(&xml).expect("well-formed metadata");
        let root = document.root_element();

        assert_eq!(root.tag_name().name(), "EntityDescriptor");
        assert_eq!(
            root.attribute("entityID"),
            Some("http://127.0.0.1:7512/saml/sp?a=1&b=2")
        );
        let acs = document
            .descendants()
            .find(|node| node.tag_name().name() == "AssertionConsumerService")
            .expect("an ACS");
        assert_eq!(
            acs.attribute("Location"),
            Some("http://127.0.0.1:7512/_login/saml")
        );
    }
}
