//! Authentication strategies: the types of the `strategy` export.
//!
//! A plugin that names strategies in its manifest implements the strategy functions of
//! [`Plugin`](crate::Plugin). The host stores each user's [`Credentials`], so a strategy keeps
//! no per-user data of its own.

use serde_json::Value;

use crate::bindings::exports::palisade::plugin::strategy as wit;

/// A user's credentials for one strategy, as the host stores them.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    /// The user's id at the identity provider (an OpenID Connect `sub`, an LDAP username, a
    /// SAML `NameID`). Unique within the strategy.
    pub subject: String,
    /// The strategy's other data about the user: a JSON object.
    pub document: Value,
}

impl Credentials {
    /// Creates credentials with an empty document.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            document: Value::Object(Default::default()),
        }
    }

    /// Sets the document kept with the subject.
    pub fn document(mut self, document: Value) -> Self {
        self.document = document;
        self
    }
}

/// The identity that a login proved.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The user's id at the identity provider.
    pub subject: String,
    /// Profiles that the provider's data grants, used when the host creates the user on first
    /// login.
    pub profile_ids: Vec<String>,
    /// The `content` of a user created on first login: a JSON object.
    pub content: Value,
    /// The document stored with the credentials of a user created on first login.
    pub document: Value,
}

impl Identity {
    /// Creates an identity with no profiles, content or document.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            profile_ids: Vec::new(),
            content: Value::Object(Default::default()),
            document: Value::Object(Default::default()),
        }
    }

    /// Sets the profiles of a user created on first login.
    pub fn profile_ids(mut self, profile_ids: Vec<String>) -> Self {
        self.profile_ids = profile_ids;
        self
    }

    /// Sets the content of a user created on first login.
    pub fn content(mut self, content: Value) -> Self {
        self.content = content;
        self
    }

    /// Sets the document stored with the credentials of a user created on first login.
    pub fn document(mut self, document: Value) -> Self {
        self.document = document;
        self
    }
}

/// An HTTP response that moves a login on to another step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStep {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
}

impl NextStep {
    /// Creates a 302 redirect to `url`.
    pub fn redirect(url: impl Into<String>) -> Self {
        Self {
            status: 302,
            headers: vec![("Location".to_owned(), url.into())],
            body: String::new(),
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The outcome of a login attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The credentials are valid and prove this identity.
    Authenticated(Identity),
    /// The credentials are wrong; the reason goes to the server's logs, never to the client.
    Rejected(String),
    /// The login continues with another request.
    NextStep(NextStep),
}

impl From<Credentials> for wit::StoredCredentials {
    fn from(credentials: Credentials) -> Self {
        Self {
            subject: credentials.subject,
            document: credentials.document.to_string(),
        }
    }
}

impl From<wit::StoredCredentials> for Credentials {
    fn from(stored: wit::StoredCredentials) -> Self {
        // The host stores the document a strategy returned, which is JSON; anything else reads as
        // an empty document.
        let document = serde_json::from_str(&stored.document)
            .unwrap_or_else(|_| Value::Object(Default::default()));
        Self {
            subject: stored.subject,
            document,
        }
    }
}

impl From<Verdict> for wit::Verdict {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Authenticated(identity) => Self::Authenticated(wit::Identity {
                subject: identity.subject,
                profile_ids: identity.profile_ids,
                content: identity.content.to_string(),
                document: identity.document.to_string(),
            }),
            Verdict::Rejected(reason) => Self::Rejected(reason),
            Verdict::NextStep(step) => Self::NextStep(wit::NextStep {
                status: step.status,
                headers: step.headers,
                body: step.body,
            }),
        }
    }
}
