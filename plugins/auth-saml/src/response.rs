//! Validation of a SAML `Response` of the HTTP-POST binding, free of host calls so it runs in
//! unit tests: signature, structure against signature wrapping, status, audience, recipient and
//! validity period.

use roxmltree::{Document, Node, ParsingOptions};
use rsa::PublicKey;

use crate::signature::{self, ID_ATTRIBUTE};
use crate::time::parse_utc;
use crate::xml::{self, ASSERTION_NS, DSIG_NS, PROTOCOL_NS};

/// Maximum size of a decoded response. Real responses take a few kilobytes; the limit keeps a
/// hostile post from making the plugin parse megabytes.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Maximum number of XML nodes in a response.
const MAX_NODES: u32 = 10_000;

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// The values a response must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The SP entity id, the required `Audience`.
    pub entity_id: &'a str,
    /// The ACS URL, the required `Destination` and `Recipient`.
    pub acs_url: &'a str,
    /// The IdP entity id, the required `Issuer`.
    pub idp_entity_id: &'a str,
    /// The IdP key.
    pub idp_key: &'a PublicKey,
    /// The current time, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// Tolerated clock difference, in milliseconds.
    pub clock_skew_ms: i64,
}

/// The data of a verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The assertion `ID`, used once.
    pub id: String,
    /// The id of the AuthnRequest this assertion responds to.
    pub in_response_to: String,
    /// The `NameID` value.
    pub name_id: String,
    /// The `NameID` `Format`, if any.
    pub name_id_format: Option<String>,
    /// Attributes by `Name`, each with its values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The end of the assertion's validity, in milliseconds since the Unix epoch: the earliest
    /// `NotOnOrAfter` of the conditions and the bearer confirmation.
    pub not_on_or_after_ms: i64,
}

/// Parses and validates a decoded SAML response.
///
/// # Errors
///
/// The reason for the rejection, for the server's log.
pub fn verify_response(
    xml_text: &str,
    expected: &Expected<'_>,
) -> Result<VerifiedAssertion, String> {
    if xml_text.len() > MAX_RESPONSE_BYTES {
        return Err(format!("the response exceeds {MAX_RESPONSE_BYTES} bytes"));
    }
    // DTDs stay disabled, so entity declarations and their expansion are parse errors.
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(xml_text, options)
        .map_err(|error| format!("the response is not well-formed XML: {error}"))?;

    let response = document.root_element();
    if !xml::is(response, PROTOCOL_NS, "Response") {
        return Err("the root element is not a samlp:Response".to_owned());
    }
    check_unique_ids(&document)?;
    let assertion = single_assertion(&document, response)?;
    check_signatures(&document, response, assertion, expected.idp_key)?;

    check_response(response, expected)?;
    read_assertion(assertion, expected)
}

/// Rejects two elements with the same `ID`, so no reference can resolve to a different element
/// than the one read.
fn check_unique_ids(document: &Document<'_>) -> Result<(), String> {
    let mut ids: Vec<&str> = document
        .descendants()
        .filter_map(|node| node.attribute(ID_ATTRIBUTE))
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() != count {
        return Err("two elements have the same ID".to_owned());
    }
    Ok(())
}

/// Returns the only `Assertion` of the document, which must be a child of the `Response`.
fn single_assertion<'a, 'input>(
    document: &'a Document<'input>,
    response: Node<'a, 'input>,
) -> Result<Node<'a, 'input>, String> {
    let encrypted = document
        .descendants()
        .any(|node| xml::is(node, ASSERTION_NS, "EncryptedAssertion"));
    if encrypted {
        // TODO(saml): encrypted assertions need the SP's private key and XML Encryption.
        return Err("encrypted assertions are not supported".to_owned());
    }

    let assertions: Vec<Node> = document
        .descendants()
        .filter(|node| xml::is(*node, ASSERTION_NS, "Assertion"))
        .collect();
    match assertions.as_slice() {
        [assertion] if assertion.parent() == Some(response) => Ok(*assertion),
        [_] => Err("the Assertion is not a child of the Response".to_owned()),
        [] => Err("the response has no Assertion".to_owned()),
        _ => Err(format!(
            "the response has {} Assertion elements, expected one",
            assertions.len()
        )),
    }
}

/// Verifies the signature of the response, of the assertion, or both, and rejects any other
/// signature in the document.
fn check_signatures(
    document: &Document<'_>,
    response: Node<'_, '_>,
    assertion: Node<'_, '_>,
    key: &PublicKey,
) -> Result<(), String> {
    let response_signed = signature::signature_children(response).next().is_some();
    let assertion_signed = signature::signature_children(assertion).next().is_some();
    let all_signatures = document
        .descendants()
        .filter(|node| xml::is(*node, DSIG_NS, "Signature"))
        .count();
    let checked = usize::from(response_signed) + usize::from(assertion_signed);
    if all_signatures != checked {
        return Err("the response has a Signature outside the Response and Assertion".to_owned());
    }
    if checked == 0 {
        return Err("neither the Response nor the Assertion is signed".to_owned());
    }

    if response_signed {
        signature::verify_enveloped(document, response, key)
            .map_err(|reason| format!("invalid Response signature: {reason}"))?;
    }
    if assertion_signed {
        signature::verify_enveloped(document, assertion, key)
            .map_err(|reason| format!("invalid Assertion signature: {reason}"))?;
    }
    Ok(())
}

/// Checks the `Response` element: version, status, destination and issuer.
fn check_response(response: Node<'_, '_>, expected: &Expected<'_>) -> Result<(), String> {
    if response.attribute("Version") != Some("2.0") {
        return Err("the Response Version is not 2.0".to_owned());
    }

    let status = xml::only_child(response, PROTOCOL_NS, "Status")?;
    let code = xml::only_child(status, PROTOCOL_NS, "StatusCode")?;
    if code.attribute("Value") != Some(SUCCESS) {
        return Err(format!(
            "the IdP returned the status {:?}",
            code.attribute("Value").unwrap_or_default()
        ));
    }

    // The SAML 2.0 bindings require a Destination on a signed response. Any
    // Destination present must be this SP's ACS URL.
    let signed = signature::signature_children(response).next().is_some();
    match response.attribute("Destination") {
        Some(destination) if destination == expected.acs_url => {}
        Some(destination) => {
            return Err(format!(
                "the Response Destination {destination:?} is not the ACS URL"
            ));
        }
        None if signed => return Err("the signed Response has no Destination".to_owned()),
        None => {}
    }

    if let Some(issuer) = xml::optional_child(response, ASSERTION_NS, "Issuer")? {
        check_issuer(issuer, expected)?;
    }
    Ok(())
}

fn check_issuer(issuer: Node<'_, '_>, expected: &Expected<'_>) -> Result<(), String> {
    let value = xml::text_content(issuer);
    if value.trim() != expected.idp_entity_id {
        return Err(format!("the Issuer {value:?} is not the configured IdP"));
    }
    Ok(())
}

/// Checks the assertion and reads its subject and attributes.
fn read_assertion(
    assertion: Node<'_, '_>,
    expected: &Expected<'_>,
) -> Result<VerifiedAssertion, String> {
    if assertion.attribute("Version") != Some("2.0") {
        return Err("the Assertion Version is not 2.0".to_owned());
    }
    let id = assertion
        .attribute(ID_ATTRIBUTE)
        .filter(|id| !id.is_empty())
        .ok_or("the Assertion has no ID")?
        .to_owned();
    check_issuer(
        xml::only_child(assertion, ASSERTION_NS, "Issuer")?,
        expected,
    )?;

    let conditions_end = check_conditions(assertion, expected)?;
    let subject = xml::only_child(assertion, ASSERTION_NS, "Subject")?;
    let name_id = xml::only_child(subject, ASSERTION_NS, "NameID")?;
    if name_id.children().any(|child| child.is_element()) {
        return Err("the NameID contains elements".to_owned());
    }
    let (in_response_to, confirmation_end) = check_bearer_confirmation(subject, expected)?;

    let name_id_value = xml::text_content(name_id).trim().to_owned();
    if name_id_value.is_empty() {
        return Err("the NameID is empty".to_owned());
    }
    Ok(VerifiedAssertion {
        id,
        in_response_to,
        name_id: name_id_value,
        name_id_format: name_id.attribute("Format").map(str::to_owned),
        attributes: read_attributes(assertion),
        not_on_or_after_ms: conditions_end
            .map_or(confirmation_end, |end| end.min(confirmation_end)),
    })
}

/// Checks `Conditions` (validity period and audience) and returns its `NotOnOrAfter`.
fn check_conditions(
    assertion: Node<'_, '_>,
    expected: &Expected<'_>,
) -> Result<Option<i64>, String> {
    let conditions = xml::only_child(assertion, ASSERTION_NS, "Conditions")?;
    if let Some(not_before) = time_attribute(conditions, "NotBefore")?
        && expected.now_ms + expected.clock_skew_ms < not_before
    {
        return Err("the assertion is not valid yet (Conditions NotBefore)".to_owned());
    }
    let not_on_or_after = time_attribute(conditions, "NotOnOrAfter")?;
    if let Some(end) = not_on_or_after
        && expected.now_ms - expected.clock_skew_ms >= end
    {
        return Err("the assertion has expired (Conditions NotOnOrAfter)".to_owned());
    }

    // SAML 2.0 core requires every AudienceRestriction to list this SP, and one at
    // least must be present so an assertion for any audience is never accepted.
    let restrictions: Vec<Node> =
        xml::children(conditions, ASSERTION_NS, "AudienceRestriction").collect();
    if restrictions.is_empty() {
        return Err("the Conditions have no AudienceRestriction".to_owned());
    }
    for restriction in restrictions {
        let listed = xml::children(restriction, ASSERTION_NS, "Audience")
            .any(|audience| xml::text_content(audience).trim() == expected.entity_id);
        if !listed {
            return Err(format!(
                "the SP entity id {:?} is not an Audience of the assertion",
                expected.entity_id
            ));
        }
    }
    Ok(not_on_or_after)
}

/// Finds a bearer `SubjectConfirmation` whose data is valid for this SP now, and returns its
/// `InResponseTo` and `NotOnOrAfter`.
fn check_bearer_confirmation(
    subject: Node<'_, '_>,
    expected: &Expected<'_>,
) -> Result<(String, i64), String> {
    let mut last_error = "the Subject has no bearer SubjectConfirmation".to_owned();
    for confirmation in xml::children(subject, ASSERTION_NS, "SubjectConfirmation") {
        if confirmation.attribute("Method") != Some(BEARER) {
            continue;
        }
        match check_confirmation_data(confirmation, expected) {
            Ok(found) => return Ok(found),
            Err(reason) => last_error = reason,
        }
    }
    Err(last_error)
}

fn check_confirmation_data(
    confirmation: Node<'_, '_>,
    expected: &Expected<'_>,
) -> Result<(String, i64), String> {
    let data = xml::only_child(confirmation, ASSERTION_NS, "SubjectConfirmationData")?;
    match data.attribute("Recipient") {
        Some(recipient) if recipient == expected.acs_url => {}
        other => {
            return Err(format!(
                "the SubjectConfirmationData Recipient {other:?} is not the ACS URL"
            ));
        }
    }

    let end = time_attribute(data, "NotOnOrAfter")?
        .ok_or("the SubjectConfirmationData has no NotOnOrAfter")?;
    if expected.now_ms - expected.clock_skew_ms >= end {
        return Err("the assertion has expired (SubjectConfirmationData NotOnOrAfter)".to_owned());
    }
    if let Some(not_before) = time_attribute(data, "NotBefore")?
        && expected.now_ms + expected.clock_skew_ms < not_before
    {
        return Err("the SubjectConfirmationData is not valid yet".to_owned());
    }

    // Only SP-initiated logins are accepted, so the assertion must respond to a request of this SP.
    let in_response_to = data
        .attribute("InResponseTo")
        .filter(|id| !id.is_empty())
        .ok_or("the SubjectConfirmationData has no InResponseTo (IdP-initiated login)")?;
    let response_value = confirmation
        .ancestors()
        .find(|node| xml::is(*node, PROTOCOL_NS, "Response"))
        .and_then(|response| response.attribute("InResponseTo"));
    if response_value.is_some_and(|value| value != in_response_to) {
        return Err("the Response and the assertion answer different requests".to_owned());
    }
    Ok((in_response_to.to_owned(), end))
}

fn time_attribute(element: Node<'_, '_>, name: &str) -> Result<Option<i64>, String> {
    match element.attribute(name) {
        None => Ok(None),
        Some(text) => parse_utc(text)
            .map(Some)
            .ok_or_else(|| format!("invalid {name} time {text:?}")),
    }
}

fn read_attributes(assertion: Node<'_, '_>) -> Vec<(String, Vec<String>)> {
    xml::children(assertion, ASSERTION_NS, "AttributeStatement")
        .flat_map(|statement| xml::children(statement, ASSERTION_NS, "Attribute"))
        .filter_map(|attribute| {
            let name = attribute.attribute("Name")?.to_owned();
            let values = xml::children(attribute, ASSERTION_NS, "AttributeValue")
                .map(xml::text_content)
                .collect();
            Some((name, values))
        })
        .collect()
}
