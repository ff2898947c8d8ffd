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
