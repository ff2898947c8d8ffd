//! An LDAP client for one connection: sends requests, reads whole messages from the stream and
//! matches them to the request by message id.

use palisade_plugin_sdk::ApiError;

use crate::ber;
use crate::protocol::{self, Entry, LdapResult, Message, Response, SearchRequest, result_code};

/// The bytes that one read requests from the host.
const READ_CHUNK: u32 = 64 * 1024;

/// A byte stream to the LDAP server, which the host's `tcp` connection implements and tests
/// replace with a scripted one.
pub trait Transport {
    /// Writes all of `data`.
    ///
    /// # Errors
    ///
    /// The host's error for a timeout or a broken connection.
    fn write(&mut self, data: &[u8]) -> Result<(), ApiError>;

    /// Reads up to `max_bytes`; an empty vector when the server closed the connection.
    ///
    /// # Errors
    ///
    /// The host's error for a timeout or a broken connection.
    fn read(&mut self, max_bytes: u32) -> Result<Vec<u8>, ApiError>;

    /// Starts TLS on the connection and checks the server's certificate.
    ///
    /// # Errors
    ///
    /// The host's error for a failed handshake or certificate check.
    fn start_tls(&mut self) -> Result<(), ApiError>;
}

/// The entries and final result of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOutcome {
    /// The entries returned, at most the request's size limit.
    pub entries: Vec<Entry>,
    /// The `SearchResultDone` result.
    pub result: LdapResult,
}

/// A connection to an LDAP server.
#[derive(Debug)]
pub struct Client<T> {
    transport: T,
    /// `host:port`, for error messages.
    server: String,
    next_id: i32,
    /// Bytes read but not yet decoded.
    buffer: Vec<u8>,
}

/// Creates a 502 `plugin.ldap.protocol_error` error for a response that breaks RFC 4511.
pub fn protocol_error(server: &str, reason: &str) -> ApiError {
    ApiError::new(
        502,
        "plugin.ldap.protocol_error",
        format!("Invalid response from the LDAP server {server}: {reason}."),
    )
    .prop(server)
}

/// Creates a 502 `plugin.ldap.operation_failed` error for an unexpected result code.
pub fn operation_failed(server: &str, operation: &str, result: &LdapResult) -> ApiError {
    ApiError::new(
        502,
        "plugin.ldap.operation_failed",
        format!(
            "The LDAP server {server} failed the {operation} with result code {} ({}). Check \
             the plugin's settings and the server's logs.",
            result.code, result.diagnostic
        ),
    )
    .prop(server)
    .prop(operation)
}

impl<T: Transport> Client<T> {
    /// Wraps an open connection to `server` (`host:port`).
    pub fn new(transport: T, server: impl Into<String>) -> Self {
        Self {
            transport,
            server: server.into(),
            next_id: 1,
            buffer: Vec::new(),
        }
    }

    /// Returns the server's `host:port`.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn send(&mut self, encode: impl FnOnce(i32) -> Vec<u8>) -> Result<i32, ApiError> {
        let id = self.next_id;
        self.next_id += 1;
        self.transport.write(&encode(id))?;
        Ok(id)
    }

    /// Reads the next message, which must answer request `id`.
    fn receive(&mut self, id: i32) -> Result<Response, ApiError> {
        let frame = self.read_frame()?;
        let message = protocol::decode_message(&frame)
            .map_err(|error| protocol_error(&self.server, &error.0))?;
        let Message {
            id: received,
            response,
        } = message;

        if received == 0 {
            // Message id 0 is an unsolicited notification, such as the Notice of
            // Disconnection (RFC 4511 section 4.4.1), after which the server closes.
            let reason = match &response {
                Response::Extended(result, _) => {
                    format!("the server ended the session ({})", result.diagnostic)
                }
                _ => "unsolicited message".to_owned(),
            };
            return Err(protocol_error(&self.server, &reason));
        }
        if received != id {
            return Err(protocol_error(
                &self.server,
                &format!("response to message {received}, expected {id}"),
            ));
        }
        Ok(response)
    }

    /// Reads until the buffer contains one whole BER element and returns it.
    fn read_frame(&mut self) -> Result<Vec<u8>, ApiError> {
        loop {
            let size = ber::element_size(&self.buffer)
                .map_err(|error| protocol_error(&self.server, &error.0))?;
            if let Some(size) = size.filter(|&size| self.buffer.len() >= size) {
                let rest = self.buffer.split_off(size);
                return Ok(std::mem::replace(&mut self.buffer, rest));
            }

            let chunk = self.transport.read(READ_CHUNK)?;
            if chunk.is_empty() {
                return Err(ApiError::new(
                    502,
                    "plugin.ldap.connection_closed",
                    format!(
                        "The LDAP server {} closed the connection before its response was \
                         complete.",
                        self.server
                    ),
                )
                .prop(self.server.clone()));
            }
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// Sends the StartTLS extended request and starts TLS once the server accepts it.
    ///
    /// # Errors
    ///
    /// A 502 `plugin.ldap.start_tls_failed` error when the server rejects it, or the host's
    /// error when the handshake or certificate check fails.
    pub fn start_tls(&mut self) -> Result<(), ApiError> {
        let id = self.send(protocol::start_tls_request)?;
        let result = match self.receive(id)? {
            Response::Extended(result, _) => result,
            other => {
                return Err(protocol_error(
                    &self.server,
                    &format!("expected an extended response, got {other:?}"),
                ));
            }
        };
        if result.code != result_code::SUCCESS {
            return Err(ApiError::new(
                502,
                "plugin.ldap.start_tls_failed",
                format!(
                    "The LDAP server {} rejected StartTLS with result code {} ({}). Enable TLS \
                     on the server or use an ldaps:// URL.",
                    self.server, result.code, result.diagnostic
                ),
            )
            .prop(self.server.clone()));
        }
        if !self.buffer.is_empty() {
            // Bytes sent before the handshake would be read as if TLS protected them.
            return Err(protocol_error(
                &self.server,
                "data after the StartTLS response",
            ));
        }
        self.transport.start_tls()
    }

    /// Sends a simple bind and returns its result, whatever the code.
    ///
    /// # Errors
    ///
    /// A transport or protocol error.
    pub fn bind(&mut self, dn: &str, password: &[u8]) -> Result<LdapResult, ApiError> {
        let id = self.send(|id| protocol::bind_request(id, dn, password))?;
        match self.receive(id)? {
            Response::Bind(result) => Ok(result),
            other => Err(protocol_error(
                &self.server,
                &format!("expected a bind response, got {other:?}"),
            )),
        }
    }

    /// Runs a search and collects its entries, ignoring referrals.
    ///
    /// # Errors
    ///
    /// A transport or protocol error, including a server that returns more entries than the
    /// size limit.
    pub fn search(&mut self, search: &SearchRequest<'_>) -> Result<SearchOutcome, ApiError> {
        let id = self.send(|id| protocol::search_request(id, search))?;
        let mut entries = Vec::new();
        loop {
            match self.receive(id)? {
                Response::SearchEntry(entry) => {
                    if search.size_limit > 0 && entries.len() >= search.size_limit as usize {
                        return Err(protocol_error(
                            &self.server,
                            "more search entries than the size limit",
                        ));
                    }
                    entries.push(entry);
                }
                Response::SearchReference => {}
                Response::SearchDone(result) => return Ok(SearchOutcome { entries, result }),
                other => {
                    return Err(protocol_error(
                        &self.server,
                        &format!("expected a search response, got {other:?}"),
                    ));
                }
            }
        }
    }

    /// Sends an unbind request, which ends the session; the server sends no response.
    /// Failures are ignored because the host closes the connection when the call returns.
    pub fn unbind(mut self) {
        let _ = self.send(protocol::unbind_request);
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A transport that returns scripted reads and records writes.
    #[derive(Debug, Default)]
    pub struct ScriptedTransport {
        /// The chunks that successive reads return.
        pub reads: VecDeque<Vec<u8>>,
        /// Everything written, one entry per write.
        pub writes: Vec<Vec<u8>>,
        /// Whether `start_tls` ran.
        pub tls_started: bool,
    }

    impl Transport for &mut ScriptedTransport {
        fn write(&mut self, data: &[u8]) -> Result<(), ApiError> {
            self.writes.push(data.to_vec());
            Ok(())
        }

        fn read(&mut self, _max_bytes: u32) -> Result<Vec<u8>, ApiError> {
            Ok(self.reads.pop_front().unwrap_or_default())
        }

        fn start_tls(&mut self) -> Result<(), ApiError> {
            self.tls_started = true;
            Ok(())
        }
    }

    /// Encodes an `LDAPResult`-based response with tag `tag`.
    pub fn result_message(id: i32, tag: u8, code: i64) -> Vec<u8> {
        let result = ber::constructed(
            tag,
            &[
                ber::integer(ber::ENUMERATED, code),
                ber::octet_string(ber::OCTET_STRING, b""),
                ber::octet_string(ber::OCTET_STRING, b"diagnostic"),
            ],
        );
        ber::constructed(
            ber::SEQUENCE,
            &[ber::integer(ber::INTEGER, id as i64), result],
        )
    }

    /// Encodes a `SearchResultEntry` with one attribute.
    pub fn entry_message(id: i32, dn: &str, attribute: &str, values: &[&str]) -> Vec<u8> {
        entry_message_with(id, dn, &[(attribute, values)])
    }

    /// Encodes a `SearchResultEntry` with the given attributes and values.
    pub fn entry_message_with(id: i32, dn: &str, attributes: &[(&str, &[&str])]) -> Vec<u8> {
        let attributes: Vec<Vec<u8>> = attributes
            .iter()
            .map(|(name, values)| {
                let values: Vec<Vec<u8>> = values
                    .iter()
                    .map(|value| ber::octet_string(ber::OCTET_STRING, value.as_bytes()))
                    .collect();
                ber::constructed(
                    ber::SEQUENCE,
                    &[
                        ber::octet_string(ber::OCTET_STRING, name.as_bytes()),
                        ber::constructed(ber::SET, &values),
                    ],
                )
            })
            .collect();
        let entry = ber::constructed(
            0x64,
            &[
                ber::octet_string(ber::OCTET_STRING, dn.as_bytes()),
                ber::constructed(ber::SEQUENCE, &attributes),
            ],
        );
        ber::constructed(
            ber::SEQUENCE,
            &[ber::integer(ber::INTEGER, id as i64), entry],
        )
    }

    #[test]
    fn bind_reads_split_response() {
        let response = result_message(1, 0x61, 0);
        let mut transport = ScriptedTransport::default();
        for byte in &response {
            transport.reads.push_back(vec![*byte]);
        }
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let result = client.bind("cn=a", b"pw").expect("bind");
        assert_eq!(result.code, 0);
        drop(client);
        assert_eq!(
            transport.writes[0],
            protocol::bind_request(1, "cn=a", b"pw")
        );
    }

    #[test]
    fn two_responses_in_one_read_kept_apart() {
        let mut chunk = result_message(1, 0x61, 49);
        chunk.extend(result_message(2, 0x61, 0));
        let mut transport = ScriptedTransport::default();
        transport.reads.push_back(chunk);
        let mut client = Client::new(&mut transport, "ldap.test:389");

        assert_eq!(client.bind("cn=a", b"x").expect("first").code, 49);
        assert_eq!(client.bind("cn=a", b"y").expect("second").code, 0);
    }

    #[test]
    fn wrong_message_id_rejected() {
        let mut transport = ScriptedTransport::default();
        transport.reads.push_back(result_message(7, 0x61, 0));
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let error = client.bind("cn=a", b"pw").expect_err("wrong id");
        assert_eq!(error.id, "plugin.ldap.protocol_error");
    }

    #[test]
    fn notice_of_disconnection_reported() {
        let mut transport = ScriptedTransport::default();
        transport.reads.push_back(result_message(0, 0x78, 52));
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let error = client.bind("cn=a", b"pw").expect_err("disconnected");
        assert!(
            error.message.contains("ended the session"),
            "{}",
            error.message
        );
    }

    #[test]
    fn closed_connection_reported() {
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, 0x61, 0)[..5].to_vec());
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let error = client.bind("cn=a", b"pw").expect_err("closed");
        assert_eq!(error.id, "plugin.ldap.connection_closed");
    }

    #[test]
    fn hostile_length_rejected_before_reading() {
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]);
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let error = client.bind("cn=a", b"pw").expect_err("too long");
        assert_eq!(error.id, "plugin.ldap.protocol_error");
    }

    #[test]
    fn start_tls_refusal_reported() {
        let mut transport = ScriptedTransport::default();
        transport.reads.push_back(result_message(1, 0x78, 2));
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let error = client.start_tls().expect_err("refused");
        assert_eq!(error.id, "plugin.ldap.start_tls_failed");
        drop(client);
        assert!(!transport.tls_started);
    }

    #[test]
    fn start_tls_accepted() {
        let mut transport = ScriptedTransport::default();
        transport.reads.push_back(result_message(1, 0x78, 0));
        let mut client = Client::new(&mut transport, "ldap.test:389");

        client.start_tls().expect("accepted");
        drop(client);
        assert!(transport.tls_started);
    }

    #[test]
    fn search_collects_entries() {
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(entry_message(1, "uid=a,dc=org", "mail", &["a@example.org"]));
        transport.reads.push_back(result_message(1, 0x65, 0));
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let filter = crate::filter::encode("(uid=a)").expect("filter");
        let attributes = vec!["mail".to_owned()];
        let search = SearchRequest {
            base: "dc=org",
            scope: protocol::Scope::Subtree,
            filter: &filter,
            attributes: &attributes,
            size_limit: 2,
            time_limit: 5,
        };
        let outcome = client.search(&search).expect("search");
        assert_eq!(outcome.entries.len(), 1);
        assert_eq!(outcome.entries[0].dn, "uid=a,dc=org");
        assert_eq!(outcome.result.code, 0);
    }

    #[test]
    fn search_past_size_limit_rejected() {
        let mut transport = ScriptedTransport::default();
        for dn in ["uid=a,dc=org", "uid=b,dc=org"] {
            transport.reads.push_back(entry_message(1, dn, "mail", &[]));
        }
        transport.reads.push_back(result_message(1, 0x65, 0));
        let mut client = Client::new(&mut transport, "ldap.test:389");

        let filter = crate::filter::encode("(uid=*)").expect("filter");
        let search = SearchRequest {
            base: "dc=org",
            scope: protocol::Scope::Subtree,
            filter: &filter,
            attributes: &[],
            size_limit: 1,
            time_limit: 5,
        };
        let error = client.search(&search).expect_err("too many");
        assert_eq!(error.id, "plugin.ldap.protocol_error");
    }
}
