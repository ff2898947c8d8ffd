//! Exclusive XML Canonicalization 1.0 (`http://www.w3.org/2001/10/xml-exc-c14n#`, with or
//! without comments) of an element's subtree, as XML signatures compute digests and sign
//! `SignedInfo`.
//!
//! The input is a parsed document, so entities, character references, line endings and
//! attribute values arrive already normalized as the XPath data model requires. The output
//! covers one element and its descendants (a document subset whose apex is that element), minus
//! one optional excluded subtree, which is how the enveloped-signature transform removes the
//! `Signature` element. Only the namespace declarations that an element visibly uses, or whose
//! prefix the `InclusiveNamespaces` list names, are written, and only where the nearest output
//! ancestor did not already write the same declaration.

use std::collections::BTreeMap;

use roxmltree::{Node, NodeId, NodeType};

/// The prefix bound to the XML namespace, which canonical XML never declares.
const XML_PREFIX: &str = "xml";

/// Options of one canonicalization.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// Whether comments are written (the `#WithComments` variant).
    pub with_comments: bool,
    /// Prefixes of the `InclusiveNamespaces` `PrefixList`, `#default` for the default
    /// namespace, handled as inclusive canonicalization would.
    pub inclusive_prefixes: &'a [String],
    /// A subtree left out of the output, such as the enveloped `Signature` element.
    pub excluded: Option<NodeId>,
}

/// Canonicalizes `apex` and its descendants.
pub fn canonicalize(apex: Node<'_, '_>, options: &Options<'_>) -> String {
    let mut output = String::new();
    let rendered = BTreeMap::new();
    write_element(apex, options, &rendered, &mut output);
    output
}

/// Namespace declarations written by the output ancestors: prefix (empty for the default
/// namespace) to namespace URI.
type Rendered = BTreeMap<String, String>;

fn write_node(node: Node<'_, '_>, options: &Options<'_>, rendered: &Rendered, out: &mut String) {
    if Some(node.id()) == options.excluded {
        return;
    }
    match node.node_type() {
        NodeType::Element => write_element(node, options, rendered, out),
        NodeType::Text => escape_text(node.text().unwrap_or_default(), out),
        NodeType::Comment if options.with_comments => {
            out.push_str("<!--");
            out.push_str(node.text().unwrap_or_default());
            out.push_str("-->");
        }
        NodeType::PI => {
            if let Some(pi) = node.pi() {
                out.push_str("<?");
                out.push_str(pi.target);
                if let Some(value) = pi.value.filter(|value| !value.is_empty()) {
                    out.push(' ');
                    out.push_str(value);
                }
                out.push_str("?>");
            }
        }
        NodeType::Comment | NodeType::Root => {}
    }
}

fn write_element(
    element: Node<'_, '_>,
    options: &Options<'_>,
    rendered: &Rendered,
    out: &mut String,
) {
    let name = element_qname(element);
    let declarations = namespace_declarations(element, &name, options, rendered);

    out.push('<');
    out.push_str(&name);
    for (prefix, uri) in &declarations {
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attribute(uri, out);
        out.push('"');
    }
    write_attributes(element, out);
    out.push('>');

    let mut inner = rendered.clone();
    inner.extend(declarations);
    for child in element.children() {
        write_node(child, options, &inner, out);
    }

    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// Returns the declarations `element` must write, sorted by prefix with the default namespace
/// first.
fn namespace_declarations(
    element: Node<'_, '_>,
    name: &str,
    options: &Options<'_>,
    rendered: &Rendered,
) -> BTreeMap<String, String> {
    let mut used: Vec<String> = Vec::new();
    used.push(prefix_of(name).to_owned());
    for attribute in element.attributes() {
        let qname = attribute_qname(element, &attribute);
        if let Some((prefix, _)) = qname.split_once(':') {
            used.push(prefix.to_owned());
        }
    }
    for prefix in options.inclusive_prefixes {
        let prefix = if prefix == "#default" { "" } else { prefix };
        used.push(prefix.to_owned());
    }

    let mut declarations = BTreeMap::new();
    for prefix in used {
        if prefix == XML_PREFIX {
            continue;
        }
        let in_scope = if prefix.is_empty() {
            element.default_namespace().unwrap_or_default()
        } else {
            match element.lookup_namespace_uri(Some(&prefix)) {
                Some(uri) => uri,
                // A prefix from the inclusive list that is not in scope declares nothing.
                None => continue,
            }
        };
        let already = rendered
            .get(&prefix)
            .map(String::as_str)
            .unwrap_or_default();
        if already != in_scope {
            declarations.insert(prefix, in_scope.to_owned());
        }
    }
    declarations
}

fn write_attributes(element: Node<'_, '_>, out: &mut String) {
    // Canonical order: by namespace URI (none first), then by local name.
    let mut attributes: Vec<_> = element.attributes().collect();
    attributes.sort_by(|a, b| {
        let key_a = (a.namespace().unwrap_or_default(), a.name());
        let key_b = (b.namespace().unwrap_or_default(), b.name());
        key_a.cmp(&key_b)
    });

    for attribute in attributes {
        out.push(' ');
        out.push_str(&attribute_qname(element, &attribute));
        out.push_str("=\"");
        escape_attribute(attribute.value(), out);
        out.push('"');
    }
}

/// Returns the element's name as written in the document, with its prefix.
pub fn element_qname(element: Node<'_, '_>) -> String {
    let text = element.document().input_text();
    let start = element.range().start + 1;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn attribute_qname(element: Node<'_, '_>, attribute: &roxmltree::Attribute<'_, '_>) -> String {
    let text = element.document().input_text();
    text[attribute.range_qname()].to_owned()
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(prefix, _)| prefix)
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(xml: &str, options: &Options<'_>) -> String {
        let document = roxmltree::Document::parse(xml).expect("the test XML parses");
        canonicalize(document.root_element(), options)
    }

    fn subtree(xml: &str, local_name: &str, options: &Options<'_>) -> String {
        let document = roxmltree::Document::parse(xml).expect("the test XML parses");
        let apex = document
            .descendants()
            .find(|node| node.tag_name().name() == local_name)
            .expect("the element exists");
        canonicalize(apex, options)
    }

    #[test]
    fn empty_elements_expanded_and_attributes_sorted() {
        let xml = r#"<a xmlns:z="urn:z" xmlns:b="urn:b" z:y="2" b:x="1" c='3' a="4"/>"#;
        assert_eq!(
            canonical(xml, &Options::default()),
            r#"<a xmlns:b="urn:b" xmlns:z="urn:z" a="4" c="3" b:x="1" z:y="2"></a>"#
        );
    }

    #[test]
    fn unused_namespaces_dropped() {
        let xml = r#"<r xmlns:u="urn:unused" xmlns:p="urn:p"><p:e><f/></p:e></r>"#;
        assert_eq!(
            subtree(xml, "e", &Options::default()),
            r#"<p:e xmlns:p="urn:p"><f></f></p:e>"#
        );
    }

    #[test]
    fn declarations_not_repeated_in_children() {
        let xml =
            r#"<p:a xmlns:p="urn:p"><p:b xmlns:p="urn:p"><p:c xmlns:p="urn:other"/></p:b></p:a>"#;
        assert_eq!(
            canonical(xml, &Options::default()),
            r#"<p:a xmlns:p="urn:p"><p:b><p:c xmlns:p="urn:other"></p:c></p:b></p:a>"#
        );
    }

    #[test]
    fn default_namespace_undeclared_when_needed() {
        let xml = r#"<a xmlns="urn:a"><b xmlns=""><c/></b></a>"#;
        assert_eq!(
            canonical(xml, &Options::default()),
            r#"<a xmlns="urn:a"><b xmlns=""><c></c></b></a>"#
        );
        assert_eq!(subtree(xml, "b", &Options::default()), r#"<b><c></c></b>"#);
    }

    #[test]
    fn inclusive_prefixes_declared() {
        let xml = r#"<r xmlns:xs="urn:xs" xmlns:q="urn:q"><e q:t="1"><f/></e></r>"#;
        let prefixes = ["xs".to_owned(), "absent".to_owned()];
        let options = Options {
            inclusive_prefixes: &prefixes,
            ..Options::default()
        };
        assert_eq!(
            subtree(xml, "e", &options),
            r#"<e xmlns:q="urn:q" xmlns:xs="urn:xs" q:t="1"><f></f></e>"#
        );
    }

    #[test]
    fn text_and_attributes_escaped() {
        let xml = "<a v=\"&lt;&amp;&quot;&#9;&#10;&#13;>\">&lt;&amp;&gt;&#13;\"'</a>";
        assert_eq!(
            canonical(xml, &Options::default()),
            "<a v=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;>\">&lt;&amp;&gt;&#xD;\"'</a>"
        );
    }

    #[test]
    fn comments_only_with_comments() {
        let xml = "<a><!-- note -->x<?pi  data?><![CDATA[<y>]]></a>";
        assert_eq!(
            canonical(xml, &Options::default()),
            "<a>x<?pi data?>&lt;y&gt;</a>"
        );
        let options = Options {
            with_comments: true,
            ..Options::default()
        };
        assert_eq!(
            canonical(xml, &options),
            "<a><!-- note -->x<?pi data?>&lt;y&gt;</a>"
        );
    }

    #[test]
    fn excluded_subtree_left_out() {
        let xml = r#"<a><b>1</b><s:Signature xmlns:s="urn:s"><s:x/></s:Signature><c/></a>"#;
        let document = roxmltree::Document::parse(xml).expect("the test XML parses");
        let signature = document
            .descendants()
            .find(|node| node.tag_name().name() == "Signature")
            .expect("the element exists");
        let options = Options {
            excluded: Some(signature.id()),
            ..Options::default()
        };
        assert_eq!(
            canonicalize(document.root_element(), &options),
            "<a><b>1</b><c></c></a>"
        );
    }

    #[test]
    fn xml_prefix_never_declared() {
        let xml = r#"<a xml:lang="en"><b/></a>"#;
        assert_eq!(
            canonical(xml, &Options::default()),
            r#"<a xml:lang="en"><b></b></a>"#
        );
    }
}
