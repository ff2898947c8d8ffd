//! Checks of `verify_response` against responses that xmlsec1 signed (`testdata/generate.js`).

use rsa::PublicKey;

use crate::certificate::rsa_key_from_certificate;
use crate::response::{Expected, VerifiedAssertion, verify_response};

const IDP_CERTIFICATE: &str = include_str!("../testdata/idp-certificate.pem");
const ATTACKER_CERTIFICATE: &str = include_str!("../testdata/attacker-certificate.pem");
const ASSERTION_SIGNED: &str = include_str!("../testdata/assertion-signed.xml");
const RESPONSE_SIGNED: &str = include_str!("../testdata/response-signed.xml");
const BOTH_SIGNED: &str = include_str!("../testdata/both-signed.xml");
const PRETTY_WITH_COMMENTS: &str = include_str!("../testdata/pretty-with-comments.xml");
const COMMENT_IN_NAME_ID: &str = include_str!("../testdata/comment-in-name-id.xml");
const DEFAULT_NAMESPACES: &str = include_str!("../testdata/default-namespaces.xml");
const ATTACKER_SIGNED: &str = include_str!("../testdata/attacker-signed.xml");
const STATUS_REQUESTER: &str = include_str!("../testdata/status-requester.xml");
const UNSIGNED: &str = include_str!("../testdata/unsigned.xml");

/// 2026-12-04T22:00:00Z, the time the fixtures were issued at.
const FIXTURE_NOW_MS: i64 = 1_796_421_600_000;
const ENTITY_ID: &str = "http://127.0.0.1:7512/saml/sp";
const ACS_URL: &str = "http://127.0.0.1:7512/_login/saml";
const IDP_ENTITY_ID: &str = "http://127.0.0.1/test-idp";

fn idp_key() -> PublicKey {
    rsa_key_from_certificate(IDP_CERTIFICATE).expect("the fixture certificate parses")
}

fn expected(key: &PublicKey) -> Expected<'_> {
    Expected {
        entity_id: ENTITY_ID,
        acs_url: ACS_URL,
        idp_entity_id: IDP_ENTITY_ID,
        idp_key: key,
        now_ms: FIXTURE_NOW_MS,
        clock_skew_ms: 60_000,
    }
}

fn verify(xml: &str) -> Result<VerifiedAssertion, String> {
    let key = idp_key();
    verify_response(xml, &expected(&key))
}

fn rejection(xml: &str) -> String {
    verify(xml).expect_err("the response must be rejected")
}

#[test]
fn assertion_signature_accepted() {
    let assertion = verify(ASSERTION_SIGNED).expect("valid response");

    assert_eq!(assertion.id, "_assertion1");
    assert_eq!(assertion.in_response_to, "_request1");
    assert_eq!(assertion.name_id, "ada@example.com");
    assert_eq!(
        assertion.attributes,
        [
            ("email".to_owned(), vec!["ada@example.com".to_owned()]),
            (
                "groups".to_owned(),
                vec!["engineers".to_owned(), "admins".to_owned()]
            ),
        ]
    );
    assert_eq!(assertion.not_on_or_after_ms, FIXTURE_NOW_MS + 300_000);
}

#[test]
fn response_signature_accepted() {
    let assertion = verify(RESPONSE_SIGNED).expect("valid response");
    assert_eq!(assertion.name_id, "ada@example.com");
}

#[test]
fn both_signatures_accepted() {
    let assertion = verify(BOTH_SIGNED).expect("valid response");
    assert_eq!(assertion.name_id, "ada@example.com");
}

#[test]
fn indented_xml_and_signed_info_comment_accepted() {
    let assertion = verify(PRETTY_WITH_COMMENTS).expect("valid response");
    assert_eq!(assertion.name_id, "ada@example.com");
}

#[test]
fn default_namespace_declarations_accepted() {
    let assertion = verify(DEFAULT_NAMESPACES).expect("valid response");
    assert_eq!(assertion.name_id, "ada@example.com");
    assert_eq!(assertion.attributes.len(), 2);
}

#[test]
fn comment_cannot_truncate_name_id() {
    let injected = COMMENT_IN_NAME_ID.replacen(
        "ada@example.com.evil.test</saml:NameID>",
        "ada@example.com<!---->.evil.test</saml:NameID>",
        1,
    );
    assert_ne!(injected, COMMENT_IN_NAME_ID);

    let assertion = verify(&injected).expect("a comment does not change the signed value");
    assert_eq!(assertion.name_id, "ada@example.com.evil.test");
}

#[test]
fn unsigned_response_rejected() {
    assert!(rejection(UNSIGNED).contains("neither the Response nor the Assertion is signed"));
}

#[test]
fn other_key_rejected() {
    assert!(rejection(ATTACKER_SIGNED).contains("SignatureValue does not match"));

    let attacker_key = rsa_key_from_certificate(ATTACKER_CERTIFICATE).expect("parses");
    let accepted = verify_response(ATTACKER_SIGNED, &expected(&attacker_key));
    assert!(
        accepted.is_ok(),
        "the attacker's own key verifies: {accepted:?}"
    );
}

#[test]
fn tampered_name_id_rejected() {
    let tampered = ASSERTION_SIGNED.replacen(
        ">ada@example.com</saml:NameID>",
        ">eve@example.com</saml:NameID>",
        1,
    );
    assert_ne!(tampered, ASSERTION_SIGNED);
    assert!(rejection(&tampered).contains("DigestValue does not match"));
}

#[test]
fn tampered_attribute_rejected() {
    let tampered = ASSERTION_SIGNED.replacen(">engineers<", ">root<", 1);
    assert_ne!(tampered, ASSERTION_SIGNED);
    assert!(rejection(&tampered).contains("DigestValue does not match"));
}

#[test]
fn tampered_signed_info_rejected() {
    let tampered = RESPONSE_SIGNED.replacen("<ds:DigestValue>", "<ds:DigestValue>AAAA", 1);
    assert_ne!(tampered, RESPONSE_SIGNED);
    assert!(rejection(&tampered).contains("invalid Response signature"));
}

#[test]
fn expired_assertion_rejected() {
    let key = idp_key();
    let mut late = expected(&key);
    late.now_ms = FIXTURE_NOW_MS + 300_000 + 60_000;
    let reason = verify_response(ASSERTION_SIGNED, &late).expect_err("expired");
    assert!(reason.contains("expired"), "{reason}");

    late.now_ms -= 1;
    assert!(
        verify_response(ASSERTION_SIGNED, &late).is_ok(),
        "within the clock skew"
    );
}

#[test]
fn future_assertion_rejected() {
    let key = idp_key();
    let mut early = expected(&key);
    early.now_ms = FIXTURE_NOW_MS - 60_000 - 60_001;
    let reason = verify_response(ASSERTION_SIGNED, &early).expect_err("not valid yet");
    assert!(reason.contains("not valid yet"), "{reason}");
}

#[test]
fn wrong_audience_rejected() {
    let key = idp_key();
    let mut other = expected(&key);
    other.entity_id = "http://127.0.0.1:7512/other-sp";
    let reason = verify_response(ASSERTION_SIGNED, &other).expect_err("other audience");
    assert!(reason.contains("is not an Audience"), "{reason}");
}

#[test]
fn wrong_recipient_rejected() {
    let key = idp_key();
    let mut other = expected(&key);
    other.acs_url = "http://127.0.0.1:7513/_login/saml";
    let reason = verify_response(ASSERTION_SIGNED, &other).expect_err("other ACS URL");
    assert!(reason.contains("is not the ACS URL"), "{reason}");
}

#[test]
fn wrong_issuer_rejected() {
    let key = idp_key();
    let mut other = expected(&key);
    other.idp_entity_id = "http://127.0.0.1/other-idp";
    let reason = verify_response(ASSERTION_SIGNED, &other).expect_err("other IdP");
    assert!(reason.contains("is not the configured IdP"), "{reason}");
}

/// Returns the signed `<saml:Assertion>...</saml:Assertion>` of a fixture.
fn signed_assertion(xml: &str) -> &str {
    let start = xml.find("<saml:Assertion").expect("an assertion");
    let end = xml.find("</saml:Assertion>").expect("an assertion end") + "</saml:Assertion>".len();
    &xml[start..end]
}

/// Returns the assertion with another id and subject and without its signature.
fn forged_assertion(signed: &str) -> String {
    let signature_start = signed.find("<ds:Signature").expect("a signature");
    let signature_end =
        signed.find("</ds:Signature>").expect("a signature end") + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &signed[..signature_start], &signed[signature_end..]);
    unsigned
        .replacen("ID=\"_assertion1\"", "ID=\"_forged\"", 1)
        .replacen(
            ">ada@example.com</saml:NameID>",
            ">eve@example.com</saml:NameID>",
            1,
        )
}

#[test]
fn wrapped_assertion_beside_forged_rejected() {
    let signed = signed_assertion(ASSERTION_SIGNED);
    let forged = forged_assertion(signed);
    let wrapped = ASSERTION_SIGNED.replacen(signed, &format!("{forged}{signed}"), 1);

    assert!(rejection(&wrapped).contains("2 Assertion elements"));
}

#[test]
fn wrapped_assertion_inside_forged_rejected() {
    let signed = signed_assertion(ASSERTION_SIGNED);
    let forged = forged_assertion(signed);
    let inner = forged.replacen("<saml:Subject>", &format!("{signed}<saml:Subject>"), 1);
    let wrapped = ASSERTION_SIGNED.replacen(signed, &inner, 1);

    assert!(rejection(&wrapped).contains("2 Assertion elements"));
}

#[test]
fn wrapped_assertion_in_extensions_rejected() {
    let signed = signed_assertion(ASSERTION_SIGNED);
    let forged = forged_assertion(signed);
    let extensions = format!("<samlp:Extensions>{signed}</samlp:Extensions>");
    let wrapped = ASSERTION_SIGNED.replacen(signed, &forged, 1).replacen(
        "<samlp:Status>",
        &format!("{extensions}<samlp:Status>"),
        1,
    );

    assert!(rejection(&wrapped).contains("2 Assertion elements"));
}

#[test]
fn moved_signature_rejected() {
    // A single forged assertion that carries the original signature, whose reference points at
    // an ID no longer in the document.
    let signed = signed_assertion(ASSERTION_SIGNED);
    let forged = signed
        .replacen("ID=\"_assertion1\"", "ID=\"_forged\"", 1)
        .replacen(
            ">ada@example.com</saml:NameID>",
            ">eve@example.com</saml:NameID>",
            1,
        );
    let wrapped = ASSERTION_SIGNED.replacen(signed, &forged, 1);

    assert!(rejection(&wrapped).contains("does not point at the signed element"));
}

#[test]
fn duplicate_ids_rejected() {
    let duplicated = ASSERTION_SIGNED.replacen("ID=\"_response1\"", "ID=\"_assertion1\"", 1);
    assert_ne!(duplicated, ASSERTION_SIGNED);
    assert!(rejection(&duplicated).contains("same ID"));
}

#[test]
fn signed_response_with_unsigned_swapped_assertion_rejected() {
    let signed = signed_assertion(RESPONSE_SIGNED);
    let swapped = RESPONSE_SIGNED.replacen(
        signed,
        &signed.replacen(
            ">ada@example.com</saml:NameID>",
            ">eve@example.com</saml:NameID>",
            1,
        ),
        1,
    );
    assert_ne!(swapped, RESPONSE_SIGNED);
    assert!(rejection(&swapped).contains("invalid Response signature"));
}

#[test]
fn doctype_and_entities_rejected() {
    let with_dtd = ASSERTION_SIGNED.replacen(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e \"eve\">]>",
        1,
    );
    assert_ne!(with_dtd, ASSERTION_SIGNED);
    assert!(rejection(&with_dtd).contains("not well-formed"));

    let with_entity =
        ASSERTION_SIGNED.replacen(">ada@example.com</saml:NameID>", ">&e;</saml:NameID>", 1);
    assert!(rejection(&with_entity).contains("not well-formed"));
}

#[test]
fn failed_status_rejected() {
    assert!(rejection(STATUS_REQUESTER).contains("status:Requester"));
}
