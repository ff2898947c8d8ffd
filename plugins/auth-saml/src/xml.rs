//! Small helpers over `roxmltree` for the SAML and XML-Signature vocabularies.

use roxmltree::Node;

/// XML-Signature namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// SAML 2.0 protocol namespace (`samlp`).
pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace (`saml`).
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// Returns whether `node` is the element `local_name` of the namespace `namespace`.
pub fn is(node: Node<'_, '_>, namespace: &str, local_name: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(namespace)
        && node.tag_name().name() == local_name
}

/// Returns the child elements of `parent` named `local_name` in `namespace`.
pub fn children<'a, 'input>(
    parent: Node<'a, 'input>,
    namespace: &'static str,
    local_name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    parent
        .children()
        .filter(move |child| is(*child, namespace, local_name))
}

/// Returns the only child element of `parent` named `local_name` in `namespace`.
///
/// # Errors
///
/// A message when there is none or more than one.
pub fn only_child<'a, 'input>(
    parent: Node<'a, 'input>,
    namespace: &'static str,
    local_name: &'static str,
) -> Result<Node<'a, 'input>, String> {
    let mut found = children(parent, namespace, local_name);
    let first = found
        .next()
        .ok_or_else(|| format!("{} has no {local_name} child", parent.tag_name().name()))?;
    if found.next().is_some() {
        return Err(format!(
            "{} has more than one {local_name} child",
            parent.tag_name().name()
        ));
    }
    Ok(first)
}

/// Returns the optional only child element of `parent` named `local_name` in `namespace`.
///
/// # Errors
///
/// A message when there is more than one.
pub fn optional_child<'a, 'input>(
    parent: Node<'a, 'input>,
    namespace: &'static str,
    local_name: &'static str,
) -> Result<Option<Node<'a, 'input>>, String> {
    match children(parent, namespace, local_name).count() {
        0 => Ok(None),
        _ => only_child(parent, namespace, local_name).map(Some),
    }
}

/// Returns every text descendant of `element` joined, so a comment inside a value cannot cut it
/// short: `<NameID>ada@example.com<!---->.evil.test</NameID>` reads as the whole address that
/// was signed, because digests leave comments out.
pub fn text_content(element: Node<'_, '_>) -> String {
    element
        .descendants()
        .filter(Node::is_text)
        .filter_map(|node| node.text())
        .collect()
}
