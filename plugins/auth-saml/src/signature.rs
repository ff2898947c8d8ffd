//! Verification of an enveloped XML signature (XML-Signature 1.0) over one element, with the only
//! algorithms SAML identity providers use today: exclusive canonicalization, RSA-SHA256 and
//! SHA-256 digests.
//!
//! The key always comes from the settings. A `KeyInfo` in the message is ignored, because a
//! certificate an attacker embeds would otherwise verify the attacker's own signature.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use roxmltree::{Document, Node};
use rsa::PublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256};

use crate::c14n::{self, Options};
use crate::xml::{self, DSIG_NS};

const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// The attribute that carries SAML element ids, which signature references point at.
pub const ID_ATTRIBUTE: &str = "ID";

/// A canonicalization method with its parameters.
struct Canonicalization {
    with_comments: bool,
    inclusive_prefixes: Vec<String>,
}

/// Returns the `ds:Signature` children of `element`.
pub fn signature_children<'a, 'input>(
    element: Node<'a, 'input>,
) -> impl Iterator<Item = Node<'a, 'input>> {
    element
        .children()
        .filter(|child| xml::is(*child, DSIG_NS, "Signature"))
}

/// Verifies the enveloped signature that is a child of `signed` against `key`.
///
/// The single `Reference` must point at `signed` itself through its `ID`, and `ID` must be
/// unique in `document`, so the bytes that were signed are the element the caller reads.
///
/// # Errors
///
/// A message naming the first check that failed.
pub fn verify_enveloped(
    document: &Document<'_>,
    signed: Node<'_, '_>,
    key: &PublicKey,
) -> Result<(), String> {
    let mut signatures = signature_children(signed);
    let signature = signatures
        .next()
        .ok_or("the element has no Signature child")?;
    if signatures.next().is_some() {
        return Err("the element has more than one Signature child".to_owned());
    }

    let signed_info = xml::only_child(signature, DSIG_NS, "SignedInfo")?;
    let signed_info_c14n = canonicalization_of(xml::only_child(
        signed_info,
        DSIG_NS,
        "CanonicalizationMethod",
    )?)?;
    let method = xml::only_child(signed_info, DSIG_NS, "SignatureMethod")?;
    if method.attribute("Algorithm") != Some(RSA_SHA256) {
        return Err(format!(
            "unsupported SignatureMethod {:?}, expected {RSA_SHA256}",
            method.attribute("Algorithm")
        ));
    }

    let reference = xml::only_child(signed_info, DSIG_NS, "Reference")?;
    check_reference_target(document, signed, reference)?;
    check_digest(signed, signature, reference)?;

    let canonical_signed_info = c14n::canonicalize(
        signed_info,
        &Options {
            with_comments: signed_info_c14n.with_comments,
            inclusive_prefixes: &signed_info_c14n.inclusive_prefixes,
            excluded: None,
        },
    );
    let signature_value = decode_base64(&xml::text_content(xml::only_child(
        signature,
        DSIG_NS,
        "SignatureValue",
    )?))?;
    let signature_value = Signature::try_from(signature_value.as_slice())
        .map_err(|error| format!("invalid SignatureValue: {error}"))?;
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(canonical_signed_info.as_bytes(), &signature_value)
        .map_err(|_| "the SignatureValue does not match SignedInfo and the IdP key".to_owned())
}

/// Checks that the reference URI is `#<ID of signed>` and that this ID names no other element.
fn check_reference_target(
    document: &Document<'_>,
    signed: Node<'_, '_>,
    reference: Node<'_, '_>,
) -> Result<(), String> {
    let id = signed
        .attribute(ID_ATTRIBUTE)
        .filter(|id| !id.is_empty())
        .ok_or("the signed element has no ID")?;
    let uri = reference.attribute("URI").unwrap_or_default();
    if uri.strip_prefix('#') != Some(id) {
        return Err(format!(
            "the Reference URI {uri:?} does not point at the signed element's ID {id:?}"
        ));
    }

    let same_id = document
        .descendants()
        .filter(|node| node.is_element() && node.attribute(ID_ATTRIBUTE) == Some(id))
        .count();
    if same_id != 1 {
        return Err(format!("{same_id} elements have the ID {id:?}"));
    }
    Ok(())
}

/// Applies the reference's transforms to `signed` and compares the SHA-256 digest.
fn check_digest(
    signed: Node<'_, '_>,
    signature: Node<'_, '_>,
    reference: Node<'_, '_>,
) -> Result<(), String> {
    let transforms = xml::only_child(reference, DSIG_NS, "Transforms")?;
    let transforms: Vec<Node> = transforms.children().filter(Node::is_element).collect();
    let [enveloped, c14n_transform] = transforms.as_slice() else {
        return Err(format!(
            "expected the transforms enveloped-signature then exclusive canonicalization, found {} transforms",
            transforms.len()
        ));
    };
    if !xml::is(*enveloped, DSIG_NS, "Transform")
        || enveloped.attribute("Algorithm") != Some(ENVELOPED_SIGNATURE)
    {
        return Err("the first transform is not enveloped-signature".to_owned());
    }
    if !xml::is(*c14n_transform, DSIG_NS, "Transform") {
        return Err("the second transform is not a Transform element".to_owned());
    }
    let canonicalization = canonicalization_of(*c14n_transform)?;

    let digest_method = xml::only_child(reference, DSIG_NS, "DigestMethod")?;
    if digest_method.attribute("Algorithm") != Some(SHA256) {
        return Err(format!(
            "unsupported DigestMethod {:?}, expected {SHA256}",
            digest_method.attribute("Algorithm")
        ));
    }
    let expected = decode_base64(&xml::text_content(xml::only_child(
        reference,
        DSIG_NS,
        "DigestValue",
    )?))?;

    // A same-document reference by ID (`#id`) selects the element without its comments, even
    // with the `#WithComments` transform, as XML-Signature 1.0 defines such references.
    let canonical = c14n::canonicalize(
        signed,
        &Options {
            with_comments: false,
            inclusive_prefixes: &canonicalization.inclusive_prefixes,
            excluded: Some(signature.id()),
        },
    );
    let actual = Sha256::digest(canonical.as_bytes());
    if actual.as_slice() != expected.as_slice() {
        return Err("the DigestValue does not match the signed element".to_owned());
    }
    Ok(())
}

/// Reads a `CanonicalizationMethod` or `Transform` element naming exclusive canonicalization.
fn canonicalization_of(method: Node<'_, '_>) -> Result<Canonicalization, String> {
    let with_comments = match method.attribute("Algorithm") {
        Some(EXC_C14N) => false,
        Some(EXC_C14N_WITH_COMMENTS) => true,
        other => {
            return Err(format!(
                "unsupported canonicalization {other:?}, expected {EXC_C14N}"
            ));
        }
    };

    let inclusive_prefixes = method
        .children()
        .find(|child| xml::is(*child, EXC_C14N, "InclusiveNamespaces"))
        .and_then(|list| list.attribute("PrefixList"))
        .map(|list| list.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Canonicalization {
        with_comments,
        inclusive_prefixes,
    })
}

fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(compact)
        .map_err(|error| format!("invalid base64 in the signature: {error}"))
}
