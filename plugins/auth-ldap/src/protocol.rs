//! The LDAPv3 messages of RFC 4511 that a login needs: bind, search, the StartTLS extended
//! operation (RFC 4513 section 2) and unbind, encoded and decoded with [`ber`](crate::ber).

use crate::ber::{self, BerError, Reader};

const BIND_REQUEST: u8 = 0x60;
const BIND_RESPONSE: u8 = 0x61;
const UNBIND_REQUEST: u8 = 0x42;
const SEARCH_REQUEST: u8 = 0x63;
const SEARCH_RESULT_ENTRY: u8 = 0x64;
const SEARCH_RESULT_DONE: u8 = 0x65;
const SEARCH_RESULT_REFERENCE: u8 = 0x73;
const EXTENDED_REQUEST: u8 = 0x77;
const EXTENDED_RESPONSE: u8 = 0x78;
/// `AuthenticationChoice` `simple [0] OCTET STRING`.
const SIMPLE_AUTHENTICATION: u8 = 0x80;
/// `ExtendedRequest.requestName [0]`.
const EXTENDED_REQUEST_NAME: u8 = 0x80;
/// `LDAPResult.referral [3]`.
const REFERRAL: u8 = 0xa3;
/// `LDAPMessage.controls [0]`.
const CONTROLS: u8 = 0xa0;

/// The OID of the StartTLS extended operation.
pub const START_TLS_OID: &str = "1.3.6.1.4.1.1466.20037";

/// `resultCode` values that the login treats specially (RFC 4511 appendix A).
pub mod result_code {
    /// The operation succeeded.
    pub const SUCCESS: i32 = 0;
    /// The search matched more entries than its size limit.
    pub const SIZE_LIMIT_EXCEEDED: i32 = 4;
    /// Wrong DN or password.
    pub const INVALID_CREDENTIALS: i32 = 49;
    /// The account may not bind, as with an expired or locked account on some servers.
    pub const INSUFFICIENT_ACCESS_RIGHTS: i32 = 50;
    /// The server rejects the operation, as OpenLDAP does for unauthenticated binds by default.
    pub const UNWILLING_TO_PERFORM: i32 = 53;
}

/// Search scope (`SearchRequest.scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The base entry only.
    Base = 0,
    /// The base's immediate children.
    OneLevel = 1,
    /// The base and all its descendants.
    Subtree = 2,
}

/// A search request, with aliases never dereferenced and attribute values returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest<'a> {
    /// DN where the search starts.
    pub base: &'a str,
    /// The search depth.
    pub scope: Scope,
    /// The filter, already BER-encoded by [`filter::encode`](crate::filter::encode).
    pub filter: &'a [u8],
    /// The attributes to return; `["1.1"]` returns none (RFC 4511 section 4.5.1.8).
    pub attributes: &'a [String],
    /// The maximum number of entries, 0 for no limit.
    pub size_limit: i32,
    /// The server's time limit in seconds, 0 for none.
    pub time_limit: i32,
}

/// `LDAPResult`: the outcome of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapResult {
    /// `resultCode`, such as 0 (success) or 49 (invalid credentials).
    pub code: i32,
    /// `diagnosticMessage`, the server's own words.
    pub diagnostic: String,
}

/// One attribute of a search result entry, with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute description, as the server spelled it.
    pub name: String,
    /// The values, raw.
    pub values: Vec<Vec<u8>>,
}

/// A `SearchResultEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's DN.
    pub dn: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

impl Entry {
    /// Returns the values of the attribute `name`, compared case-insensitively as attribute
    /// descriptions are (RFC 4512 section 2.5).
    pub fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.attributes
            .iter()
            .filter(move |attribute| attribute.name.eq_ignore_ascii_case(name))
            .flat_map(|attribute| attribute.values.iter().map(Vec::as_slice))
    }
}

/// The `protocolOp` of a message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `BindResponse`.
    Bind(LdapResult),
    /// `SearchResultEntry`.
    SearchEntry(Entry),
    /// `SearchResultReference`, a referral to another server, which the login does not follow.
    SearchReference,
    /// `SearchResultDone`.
    SearchDone(LdapResult),
    /// `ExtendedResponse`, with its `responseName` when present.
    Extended(LdapResult, Option<String>),
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `messageID`: the request's, or 0 for an unsolicited notification.
    pub id: i32,
    /// The operation.
    pub response: Response,
}

fn message(id: i32, operation: Vec<u8>) -> Vec<u8> {
    ber::constructed(
        ber::SEQUENCE,
        &[ber::integer(ber::INTEGER, id as i64), operation],
    )
}

/// Encodes a simple `BindRequest` (LDAP version 3).
pub fn bind_request(id: i32, dn: &str, password: &[u8]) -> Vec<u8> {
    let operation = ber::constructed(
        BIND_REQUEST,
        &[
            ber::integer(ber::INTEGER, 3),
            ber::octet_string(ber::OCTET_STRING, dn.as_bytes()),
            ber::octet_string(SIMPLE_AUTHENTICATION, password),
        ],
    );
    message(id, operation)
}

/// Encodes an `UnbindRequest`.
pub fn unbind_request(id: i32) -> Vec<u8> {
    message(id, ber::element(UNBIND_REQUEST, &[]))
}

/// Encodes the StartTLS `ExtendedRequest`.
pub fn start_tls_request(id: i32) -> Vec<u8> {
    let operation = ber::constructed(
        EXTENDED_REQUEST,
        &[ber::octet_string(
            EXTENDED_REQUEST_NAME,
            START_TLS_OID.as_bytes(),
        )],
    );
    message(id, operation)
}

/// Encodes a `SearchRequest`.
pub fn search_request(id: i32, search: &SearchRequest<'_>) -> Vec<u8> {
    let attributes: Vec<Vec<u8>> = search
        .attributes
        .iter()
        .map(|attribute| ber::octet_string(ber::OCTET_STRING, attribute.as_bytes()))
        .collect();
    let operation = ber::constructed(
        SEARCH_REQUEST,
        &[
            ber::octet_string(ber::OCTET_STRING, search.base.as_bytes()),
            ber::integer(ber::ENUMERATED, search.scope as i64),
            // derefAliases: neverDerefAliases.
            ber::integer(ber::ENUMERATED, 0),
            ber::integer(ber::INTEGER, search.size_limit as i64),
            ber::integer(ber::INTEGER, search.time_limit as i64),
            ber::boolean(false),
            search.filter.to_vec(),
            ber::constructed(ber::SEQUENCE, &attributes),
        ],
    );
    message(id, operation)
}

/// Decodes one complete `LDAPMessage` from the server.
///
/// # Errors
///
/// A [`BerError`] for a malformed message, trailing bytes, or an operation that a server never
/// sends to a client.
pub fn decode_message(data: &[u8]) -> Result<Message, BerError> {
    let mut outer = Reader::new(data);
    let content = outer.read(ber::SEQUENCE)?;
    outer.finish()?;

    let mut fields = Reader::new(content);
    let id = fields.read_integer(ber::INTEGER)?;
    if id < 0 {
        return Err(BerError(format!("negative message id {id}")));
    }
    let (tag, operation) = fields.read_any()?;
    fields.read_optional(CONTROLS)?;
    fields.finish()?;

    let response = decode_operation(tag, operation)?;
    Ok(Message { id, response })
}

fn decode_operation(tag: u8, content: &[u8]) -> Result<Response, BerError> {
    match tag {
        BIND_RESPONSE => {
            let mut reader = Reader::new(content);
            let result = read_result(&mut reader)?;
            // `serverSaslCreds [7]` only follows SASL binds, which the plugin never sends.
            reader.read_optional(0x87)?;
            reader.finish()?;
            Ok(Response::Bind(result))
        }
        SEARCH_RESULT_ENTRY => decode_entry(content).map(Response::SearchEntry),
        SEARCH_RESULT_REFERENCE => Ok(Response::SearchReference),
        SEARCH_RESULT_DONE => {
            let mut reader = Reader::new(content);
            let result = read_result(&mut reader)?;
            reader.finish()?;
            Ok(Response::SearchDone(result))
        }
        EXTENDED_RESPONSE => decode_extended(content),
        _ => Err(BerError(format!(
            "unexpected operation 0x{tag:02x} from the server"
        ))),
    }
}

/// Reads the fields of an `LDAPResult`, skipping any referral.
fn read_result(reader: &mut Reader<'_>) -> Result<LdapResult, BerError> {
    let code = reader.read_integer(ber::ENUMERATED)?;
    let _matched_dn = reader.read(ber::OCTET_STRING)?;
    let diagnostic = reader.read(ber::OCTET_STRING)?;
    reader.read_optional(REFERRAL)?;
    Ok(LdapResult {
        code,
        diagnostic: String::from_utf8_lossy(diagnostic).into_owned(),
    })
}

fn decode_extended(content: &[u8]) -> Result<Response, BerError> {
    let mut reader = Reader::new(content);
    let result = read_result(&mut reader)?;
    let name = reader
        .read_optional(0x8a)?
        .map(|name| String::from_utf8_lossy(name).into_owned());
    reader.read_optional(0x8b)?;
    reader.finish()?;
    Ok(Response::Extended(result, name))
}

fn decode_entry(content: &[u8]) -> Result<Entry, BerError> {
    let mut reader = Reader::new(content);
    let dn = reader.read_string(ber::OCTET_STRING)?.to_owned();
    let mut list = Reader::new(reader.read(ber::SEQUENCE)?);
    reader.finish()?;

    let mut attributes = Vec::new();
    while !list.is_empty() {
        let mut attribute = Reader::new(list.read(ber::SEQUENCE)?);
        let name = attribute.read_string(ber::OCTET_STRING)?.to_owned();
        let mut set = Reader::new(attribute.read(ber::SET)?);
        attribute.finish()?;

        let mut values = Vec::new();
        while !set.is_empty() {
            values.push(set.read(ber::OCTET_STRING)?.to_vec());
        }
        attributes.push(Attribute { name, values });
    }
    Ok(Entry { dn, attributes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result_fields(code: i64, diagnostic: &str) -> Vec<Vec<u8>> {
        vec![
            ber::integer(ber::ENUMERATED, code),
            ber::octet_string(ber::OCTET_STRING, b""),
            ber::octet_string(ber::OCTET_STRING, diagnostic.as_bytes()),
        ]
    }

    #[test]
    fn bind_request_bytes() {
        let encoded = bind_request(1, "cn=a", b"pw");
        let expected = [
            0x30, 0x12, 0x02, 0x01, 0x01, 0x60, 0x0d, 0x02, 0x01, 0x03, 0x04, 0x04, b'c', b'n',
            b'=', b'a', 0x80, 0x02, b'p', b'w',
        ];
        assert_eq!(encoded, expected);
    }

    #[test]
    fn unbind_request_bytes() {
        assert_eq!(
            unbind_request(5),
            [0x30, 0x05, 0x02, 0x01, 0x05, 0x42, 0x00]
        );
    }

    #[test]
    fn start_tls_request_names_oid() {
        let encoded = start_tls_request(1);
        let mut outer = Reader::new(&encoded);
        let mut fields = Reader::new(outer.read(ber::SEQUENCE).expect("message"));
        assert_eq!(fields.read_integer(ber::INTEGER), Ok(1));
        let mut operation = Reader::new(fields.read(EXTENDED_REQUEST).expect("extended"));
        assert_eq!(
            operation.read(EXTENDED_REQUEST_NAME),
            Ok(START_TLS_OID.as_bytes())
        );
        assert!(operation.is_empty());
    }

    #[test]
    fn search_request_fields() {
        let filter = crate::filter::encode("(uid=a)").expect("filter");
        let attributes = vec!["mail".to_owned()];
        let search = SearchRequest {
            base: "dc=org",
            scope: Scope::Subtree,
            filter: &filter,
            attributes: &attributes,
            size_limit: 2,
            time_limit: 5,
        };
        let encoded = search_request(7, &search);

        let mut outer = Reader::new(&encoded);
        let mut fields = Reader::new(outer.read(ber::SEQUENCE).expect("message"));
        assert_eq!(fields.read_integer(ber::INTEGER), Ok(7));
        let mut operation = Reader::new(fields.read(SEARCH_REQUEST).expect("search"));
        assert_eq!(operation.read_string(ber::OCTET_STRING), Ok("dc=org"));
        assert_eq!(operation.read_integer(ber::ENUMERATED), Ok(2));
        assert_eq!(operation.read_integer(ber::ENUMERATED), Ok(0));
        assert_eq!(operation.read_integer(ber::INTEGER), Ok(2));
        assert_eq!(operation.read_integer(ber::INTEGER), Ok(5));
        assert_eq!(operation.read(ber::BOOLEAN), Ok(&[0x00][..]));
        let (_, _) = operation.read_any().expect("filter");
        let mut list = Reader::new(operation.read(ber::SEQUENCE).expect("attributes"));
        assert_eq!(list.read_string(ber::OCTET_STRING), Ok("mail"));
        assert!(operation.is_empty());
    }

    #[test]
    fn bind_response_decoded() {
        let data = message(
            1,
            ber::constructed(BIND_RESPONSE, &result_fields(49, "bad")),
        );
        let decoded = decode_message(&data).expect("valid");
        assert_eq!(decoded.id, 1);
        assert_eq!(
            decoded.response,
            Response::Bind(LdapResult {
                code: 49,
                diagnostic: "bad".to_owned()
            })
        );
    }

    #[test]
    fn entry_decoded() {
        let attribute = ber::constructed(
            ber::SEQUENCE,
            &[
                ber::octet_string(ber::OCTET_STRING, b"mail"),
                ber::constructed(
                    ber::SET,
                    &[
                        ber::octet_string(ber::OCTET_STRING, b"a@example.org"),
                        ber::octet_string(ber::OCTET_STRING, b"b@example.org"),
                    ],
                ),
            ],
        );
        let entry = ber::constructed(
            SEARCH_RESULT_ENTRY,
            &[
                ber::octet_string(ber::OCTET_STRING, b"uid=a,dc=org"),
                ber::constructed(ber::SEQUENCE, &[attribute]),
            ],
        );
        let decoded = decode_message(&message(2, entry)).expect("valid");

        let Response::SearchEntry(entry) = decoded.response else {
            panic!("expected an entry, found {:?}", decoded.response);
        };
        assert_eq!(entry.dn, "uid=a,dc=org");
        let values: Vec<&[u8]> = entry.values("MAIL").collect();
        assert_eq!(values, [&b"a@example.org"[..], &b"b@example.org"[..]]);
    }

    #[test]
    fn extended_response_with_referral_and_controls_decoded() {
        let mut fields = result_fields(0, "");
        fields.push(ber::element(REFERRAL, &[]));
        fields.push(ber::octet_string(0x8a, START_TLS_OID.as_bytes()));
        let operation = ber::constructed(EXTENDED_RESPONSE, &fields);
        let data = ber::constructed(
            ber::SEQUENCE,
            &[
                ber::integer(ber::INTEGER, 1),
                operation,
                ber::element(CONTROLS, &[]),
            ],
        );

        let decoded = decode_message(&data).expect("valid");
        let Response::Extended(result, name) = decoded.response else {
            panic!("expected an extended response");
        };
        assert_eq!(result.code, 0);
        assert_eq!(name.as_deref(), Some(START_TLS_OID));
    }

    #[test]
    fn truncated_message_rejected() {
        let data = message(1, ber::constructed(BIND_RESPONSE, &result_fields(0, "")));
        assert!(decode_message(&data[..data.len() - 1]).is_err());
    }

    #[test]
    fn inner_length_past_parent_rejected() {
        // A bind response whose diagnostic claims more bytes than its parent holds.
        let data = [
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x09,
        ];
        assert!(decode_message(&data).is_err());
    }

    #[test]
    fn request_operation_from_server_rejected() {
        let data = bind_request(1, "", b"");
        assert!(decode_message(&data).is_err());
    }

    #[test]
    fn trailing_bytes_in_message_rejected() {
        let mut data = message(1, ber::constructed(BIND_RESPONSE, &result_fields(0, "")));
        data.push(0);
        assert!(decode_message(&data).is_err());
    }
}
