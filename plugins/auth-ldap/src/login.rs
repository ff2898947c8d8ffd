//! The login itself: finds the user's DN, checks the password with a bind, reads the groups and
//! the content attributes, and returns the verdict.

use palisade_plugin_sdk::{ApiError, Identity, Value, Verdict, json};

use crate::client::{Client, Transport, operation_failed, protocol_error};
use crate::escape::{escape_dn_value, escape_filter_value, normalize_dn};
use crate::filter;
use crate::protocol::{Entry, LdapResult, Scope, SearchRequest, result_code};
use crate::settings::{GroupSource, Settings, UserLookup, UserSearch};

/// The maximum number of groups that a group search may return.
const MAX_GROUPS: i32 = 1000;

/// A username and password from `auth:login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt<'a> {
    /// The username, as the client sent it.
    pub username: &'a str,
    /// The password, never logged.
    pub password: &'a str,
}

/// The user's entry and groups once the password is checked.
#[derive(Debug)]
struct Account {
    entry: Entry,
    groups: Vec<String>,
}

/// Checks `attempt` over `client`, a connection already secured as the settings require, and
/// ends the session.
///
/// # Errors
///
/// Transport, protocol and server failures, and a service account that cannot bind.
pub fn verify<T: Transport>(
    settings: &Settings,
    mut client: Client<T>,
    attempt: &Attempt<'_>,
) -> Result<Verdict, ApiError> {
    // An empty password makes a simple bind unauthenticated (RFC 4513 section 5.1.2), which
    // many servers accept as anonymous whatever the DN: it must never reach a bind.
    if attempt.password.is_empty() {
        client.unbind();
        return Ok(Verdict::Rejected("empty password".to_owned()));
    }

    let account = match &settings.lookup {
        UserLookup::Template(template) => {
            bind_with_template(settings, &mut client, template, attempt)
        }
        UserLookup::Search(search) => search_then_bind(settings, &mut client, search, attempt),
    };
    client.unbind();

    match account? {
        Ok(account) => Ok(Verdict::Authenticated(identity(
            settings, attempt, &account,
        ))),
        Err(reason) => Ok(Verdict::Rejected(reason)),
    }
}

/// The outcome of a step: an account, or the reason for a rejection.
type Outcome<T> = Result<Result<T, String>, ApiError>;

fn bind_with_template<T: Transport>(
    settings: &Settings,
    client: &mut Client<T>,
    template: &str,
    attempt: &Attempt<'_>,
) -> Outcome<Account> {
    let dn = template.replace("{username}", &escape_dn_value(attempt.username));
    let result = client.bind(&dn, attempt.password.as_bytes())?;
    if let Err(reason) = check_user_bind(client.server(), &dn, &result)? {
        return Ok(Err(reason));
    }

    // Bound as the user, the plugin reads the entry and the groups with the user's own rights.
    let entry = read_entry(settings, client, &dn)?;
    let groups = read_groups(settings, client, &entry)?;
    Ok(Ok(Account { entry, groups }))
}

fn search_then_bind<T: Transport>(
    settings: &Settings,
    client: &mut Client<T>,
    search: &UserSearch,
    attempt: &Attempt<'_>,
) -> Outcome<Account> {
    bind_service(client, search)?;
    let entry = match find_user(settings, client, search, attempt.username)? {
        Ok(entry) => entry,
        Err(reason) => return Ok(Err(reason)),
    };
    // The service account reads the groups before the user's bind, which leaves the connection
    // bound as the user.
    let groups = read_groups(settings, client, &entry)?;

    let result = client.bind(&entry.dn, attempt.password.as_bytes())?;
    if let Err(reason) = check_user_bind(client.server(), &entry.dn, &result)? {
        return Ok(Err(reason));
    }
    Ok(Ok(Account { entry, groups }))
}

/// Binds as the service account; any failure is the operator's to fix, not a wrong login.
pub fn bind_service<T: Transport>(
    client: &mut Client<T>,
    search: &UserSearch,
) -> Result<(), ApiError> {
    let result = client.bind(&search.service_dn, search.service_password.as_bytes())?;
    if result.code == result_code::SUCCESS {
        return Ok(());
    }
    Err(ApiError::new(
        502,
        "plugin.ldap.service_bind_failed",
        format!(
            "The LDAP server {} rejected the bind of the service account \"{}\" with result \
             code {} ({}). Check serviceDn and servicePassword.",
            client.server(),
            search.service_dn,
            result.code,
            result.diagnostic
        ),
    )
    .prop(search.service_dn.clone()))
}

/// Returns the one entry that the user search finds, or why there is none.
pub fn find_user<T: Transport>(
    settings: &Settings,
    client: &mut Client<T>,
    search: &UserSearch,
    username: &str,
) -> Outcome<Entry> {
    let filter_text = search
        .filter
        .replace("{username}", &escape_filter_value(username));
    let filter = filter::encode(&filter_text)
        .map_err(|error| invalid_filter("searchFilter", &filter_text, &error.to_string()))?;
    let attributes = settings.entry_attributes();
    let request = SearchRequest {
        base: &search.base,
        scope: search.scope,
        filter: &filter,
        attributes: &attributes,
        // Two entries are enough to tell that the filter is ambiguous.
        size_limit: 2,
        time_limit: time_limit(settings),
    };
    let outcome = client.search(&request)?;

    let mut entries = outcome.entries;
    match outcome.result.code {
        result_code::SUCCESS => {}
        result_code::SIZE_LIMIT_EXCEEDED => {
            return Ok(Err(format!("several LDAP entries match \"{username}\"")));
        }
        _ => {
            return Err(operation_failed(
                client.server(),
                "user search",
                &outcome.result,
            ));
        }
    }
    match entries.len() {
        0 => Ok(Err(format!("no LDAP entry matches \"{username}\""))),
        1 => {
            let entry = entries.remove(0);
            if entry.dn.is_empty() {
                // Binding with an empty DN would be anonymous.
                return Err(protocol_error(
                    client.server(),
                    "search entry with an empty DN",
                ));
            }
            Ok(Ok(entry))
        }
        count => Ok(Err(format!("{count} LDAP entries match \"{username}\""))),
    }
}

/// Classifies the result of the user's bind: success, a rejection, or a server failure.
fn check_user_bind(server: &str, dn: &str, result: &LdapResult) -> Outcome<()> {
    match result.code {
        result_code::SUCCESS => Ok(Ok(())),
        result_code::INVALID_CREDENTIALS
        | result_code::INSUFFICIENT_ACCESS_RIGHTS
        | result_code::UNWILLING_TO_PERFORM => Ok(Err(format!(
            "bind as \"{dn}\" failed with result code {} ({})",
            result.code, result.diagnostic
        ))),
        _ => Err(operation_failed(server, "user bind", result)),
    }
}

/// Reads the attributes that the settings need from the user's entry, or returns an entry
/// without attributes when none are needed.
fn read_entry<T: Transport>(
    settings: &Settings,
    client: &mut Client<T>,
    dn: &str,
) -> Result<Entry, ApiError> {
    let attributes = settings.entry_attributes();
    if attributes == ["1.1"] {
        return Ok(Entry {
            dn: dn.to_owned(),
            attributes: Vec::new(),
        });
    }

    let filter = filter::encode("(objectClass=*)").expect("constant filter");
    let request = SearchRequest {
        base: dn,
        scope: Scope::Base,
        filter: &filter,
        attributes: &attributes,
        size_limit: 1,
        time_limit: time_limit(settings),
    };
    let outcome = client.search(&request)?;
    if outcome.result.code != result_code::SUCCESS {
        return Err(operation_failed(
            client.server(),
            "read of the user's entry",
            &outcome.result,
        ));
    }
    outcome.entries.into_iter().next().ok_or_else(|| {
        protocol_error(
            client.server(),
            "the user's own entry is missing from the search",
        )
    })
}

/// Returns the normalized DNs of the user's groups, or none when no group maps to a profile.
fn read_groups<T: Transport>(
    settings: &Settings,
    client: &mut Client<T>,
    entry: &Entry,
) -> Result<Vec<String>, ApiError> {
    if settings.group_profiles.is_empty() {
        return Ok(Vec::new());
    }

    match &settings.groups {
        GroupSource::Attribute(attribute) => Ok(entry
            .values(attribute)
            .map(|value| normalize_dn(&String::from_utf8_lossy(value)))
            .collect()),
        GroupSource::Search { base, filter } => {
            search_groups(settings, client, base, filter, &entry.dn)
        }
    }
}

fn search_groups<T: Transport>(
    settings: &Settings,
    client: &mut Client<T>,
    base: &str,
    filter_template: &str,
    dn: &str,
) -> Result<Vec<String>, ApiError> {
    let filter_text = filter_template.replace("{dn}", &escape_filter_value(dn));
    let filter = filter::encode(&filter_text)
        .map_err(|error| invalid_filter("groupSearchFilter", &filter_text, &error.to_string()))?;
    let no_attributes = ["1.1".to_owned()];
    let request = SearchRequest {
        base,
        scope: Scope::Subtree,
        filter: &filter,
        attributes: &no_attributes,
        size_limit: MAX_GROUPS,
        time_limit: time_limit(settings),
    };

    let outcome = client.search(&request)?;
    if outcome.result.code != result_code::SUCCESS {
        return Err(operation_failed(
            client.server(),
            "group search",
            &outcome.result,
        ));
    }
    Ok(outcome
        .entries
        .iter()
        .map(|group| normalize_dn(&group.dn))
        .collect())
}

fn invalid_filter(key: &str, filter: &str, reason: &str) -> ApiError {
    ApiError::new(
        400,
        "plugin.config.invalid",
        format!("Invalid LDAP setting \"{key}\": the filter \"{filter}\" is invalid ({reason})."),
    )
    .prop(key)
}

/// Returns the server-side time limit of a search: the plugin's timeout rounded up to seconds.
fn time_limit(settings: &Settings) -> i32 {
    settings.timeout_ms.div_ceil(1000) as i32
}

fn identity(settings: &Settings, attempt: &Attempt<'_>, account: &Account) -> Identity {
    // Sorted, so the result does not depend on the order of the settings table.
    let mut profiles: Vec<String> = Vec::new();
    for (group, group_profiles) in &settings.group_profiles {
        if !account.groups.contains(group) {
            continue;
        }
        for profile in group_profiles {
            if !profiles.contains(profile) {
                profiles.push(profile.clone());
            }
        }
    }

    profiles.sort();

    Identity::new(attempt.username)
        .profile_ids(profiles)
        .content(content(settings, &account.entry))
        .document(json!({"dn": account.entry.dn}))
}

/// Builds the user content: each configured attribute as a string, or an array of strings when
/// it has several values. Values that are not UTF-8 text, such as photos, are left out.
fn content(settings: &Settings, entry: &Entry) -> Value {
    let mut content = palisade_plugin_sdk::serde_json::Map::new();
    for (field, attribute) in &settings.content_attributes {
        let mut values: Vec<Value> = entry
            .values(attribute)
            .filter_map(|value| std::str::from_utf8(value).ok())
            .map(|value| Value::String(value.to_owned()))
            .collect();
        match values.len() {
            0 => {}
            1 => {
                content.insert(field.clone(), values.remove(0));
            }
            _ => {
                content.insert(field.clone(), Value::Array(values));
            }
        }
    }
    Value::Object(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::{
        ScriptedTransport, entry_message, entry_message_with, result_message,
    };
    use crate::protocol;
    use palisade_plugin_sdk::json;

    const BIND_RESPONSE: u8 = 0x61;
    const SEARCH_DONE: u8 = 0x65;

    fn settings(extra: Value) -> Settings {
        let mut value = json!({
            "url": "ldap://ldap.test:389",
            "allowPlainText": true,
            "bindDnTemplate": "uid={username},ou=people,dc=example,dc=org",
        });
        for (key, item) in extra.as_object().expect("object") {
            value[key] = item.clone();
        }
        Settings::from_init(&value).expect("valid settings")
    }

    fn search_settings(extra: Value) -> Settings {
        let mut value = json!({
            "url": "ldap://ldap.test:389",
            "allowPlainText": true,
            "searchBase": "ou=people,dc=example,dc=org",
            "searchFilter": "(uid={username})",
            "serviceDn": "cn=service,dc=example,dc=org",
            "servicePassword": "service-secret",
        });
        for (key, item) in extra.as_object().expect("object") {
            value[key] = item.clone();
        }
        Settings::from_init(&value).expect("valid settings")
    }

    fn run(
        settings: &Settings,
        transport: &mut ScriptedTransport,
        username: &str,
        password: &str,
    ) -> Result<Verdict, ApiError> {
        let client = Client::new(transport, "ldap.test:389");
        verify(settings, client, &Attempt { username, password })
    }

    #[test]
    fn empty_password_never_binds() {
        let mut transport = ScriptedTransport::default();
        let verdict = run(&settings(json!({})), &mut transport, "alice", "").expect("verdict");

        assert!(matches!(verdict, Verdict::Rejected(_)), "{verdict:?}");
        assert_eq!(transport.writes, [protocol::unbind_request(1)]);
    }

    #[test]
    fn template_bind_escapes_username() {
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 0));
        let verdict =
            run(&settings(json!({})), &mut transport, "a,ou=admins", "pw").expect("verdict");

        let Verdict::Authenticated(identity) = verdict else {
            panic!("expected a login, got {verdict:?}");
        };
        assert_eq!(identity.subject, "a,ou=admins");
        let dn = "uid=a\\,ou\\=admins,ou=people,dc=example,dc=org";
        assert_eq!(transport.writes[0], protocol::bind_request(1, dn, b"pw"));
        assert_eq!(identity.document, json!({"dn": dn}));
    }

    #[test]
    fn wrong_password_rejected() {
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 49));
        let verdict = run(&settings(json!({})), &mut transport, "alice", "wrong").expect("verdict");
        assert!(matches!(verdict, Verdict::Rejected(_)), "{verdict:?}");
    }

    #[test]
    fn server_failure_is_error() {
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 52));
        let error = run(&settings(json!({})), &mut transport, "alice", "pw").expect_err("busy");
        assert_eq!(error.id, "plugin.ldap.operation_failed");
    }

    #[test]
    fn template_reads_groups_and_content() {
        let settings = settings(json!({
            "groupProfiles": {"cn=admins,ou=groups,dc=example,dc=org": ["admin"]},
            "contentAttributes": {"email": "mail"},
        }));
        let dn = "uid=alice,ou=people,dc=example,dc=org";
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 0));
        transport.reads.push_back(entry_message_with(
            2,
            dn,
            &[
                (
                    "memberOf",
                    &["CN=Admins,ou=groups,dc=example,dc=org", "cn=other,dc=org"],
                ),
                ("mail", &["alice@example.org"]),
            ],
        ));
        transport.reads.push_back(result_message(2, SEARCH_DONE, 0));

        let verdict = run(&settings, &mut transport, "alice", "pw").expect("verdict");
        let Verdict::Authenticated(identity) = verdict else {
            panic!("expected a login, got {verdict:?}");
        };
        assert_eq!(identity.profile_ids, ["admin"]);
        assert_eq!(identity.content, json!({"email": "alice@example.org"}));
    }

    #[test]
    fn search_mode_binds_found_dn() {
        let settings = search_settings(json!({"contentAttributes": ["mail"]}));
        let dn = "uid=bob,ou=people,dc=example,dc=org";
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 0));
        transport
            .reads
            .push_back(entry_message(2, dn, "mail", &["bob@example.org"]));
        transport.reads.push_back(result_message(2, SEARCH_DONE, 0));
        transport
            .reads
            .push_back(result_message(3, BIND_RESPONSE, 0));

        let verdict = run(&settings, &mut transport, "bob", "pw").expect("verdict");
        let Verdict::Authenticated(identity) = verdict else {
            panic!("expected a login, got {verdict:?}");
        };
        assert_eq!(identity.content, json!({"mail": "bob@example.org"}));
        assert_eq!(
            transport.writes[0],
            protocol::bind_request(1, "cn=service,dc=example,dc=org", b"service-secret")
        );
        assert_eq!(transport.writes[2], protocol::bind_request(3, dn, b"pw"));
    }

    #[test]
    fn search_mode_unknown_user_rejected() {
        let settings = search_settings(json!({}));
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 0));
        transport.reads.push_back(result_message(2, SEARCH_DONE, 0));

        let verdict = run(&settings, &mut transport, "nobody", "pw").expect("verdict");
        assert!(matches!(verdict, Verdict::Rejected(_)), "{verdict:?}");
        // Service bind, search, unbind: no bind as the user.
        assert_eq!(transport.writes.len(), 3);
    }

    #[test]
    fn search_mode_ambiguous_rejected() {
        let settings = search_settings(json!({}));
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 0));
        transport
            .reads
            .push_back(entry_message(2, "uid=a,dc=org", "mail", &[]));
        transport
            .reads
            .push_back(entry_message(2, "uid=b,dc=org", "mail", &[]));
        transport.reads.push_back(result_message(2, SEARCH_DONE, 4));

        let verdict = run(&settings, &mut transport, "*", "pw").expect("verdict");
        assert!(matches!(verdict, Verdict::Rejected(_)), "{verdict:?}");
        assert_eq!(transport.writes.len(), 3);
    }

    #[test]
    fn search_mode_escapes_filter() {
        let settings = search_settings(json!({}));
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 0));
        transport.reads.push_back(result_message(2, SEARCH_DONE, 0));

        run(&settings, &mut transport, "*)(uid=*", "pw").expect("verdict");
        let expected_filter = filter::encode("(uid=\\2a\\29\\28uid=\\2a)").expect("filter");
        let search = &transport.writes[1];
        assert!(
            search
                .windows(expected_filter.len())
                .any(|window| window == expected_filter),
            "the search request must carry the escaped filter"
        );
    }

    #[test]
    fn service_bind_failure_is_error() {
        let settings = search_settings(json!({}));
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 49));

        let error = run(&settings, &mut transport, "bob", "pw").expect_err("bad service account");
        assert_eq!(error.id, "plugin.ldap.service_bind_failed");
    }

    #[test]
    fn group_search_maps_profiles() {
        let settings = search_settings(json!({
            "groupSearchBase": "ou=groups,dc=example,dc=org",
            "groupProfiles": {
                "cn=staff,ou=groups,dc=example,dc=org": ["staff", "default"],
                "cn=admins,ou=groups,dc=example,dc=org": ["admin", "staff"],
            },
        }));
        let dn = "uid=bob,ou=people,dc=example,dc=org";
        let mut transport = ScriptedTransport::default();
        transport
            .reads
            .push_back(result_message(1, BIND_RESPONSE, 0));
        transport
            .reads
            .push_back(entry_message(2, dn, "cn", &["Bob"]));
        transport.reads.push_back(result_message(2, SEARCH_DONE, 0));
        transport.reads.push_back(entry_message(
            3,
            "cn=admins, ou=groups,dc=example,dc=org",
            "cn",
            &[],
        ));
        transport.reads.push_back(entry_message(
            3,
            "cn=staff,ou=groups,dc=example,dc=org",
            "cn",
            &[],
        ));
        transport.reads.push_back(result_message(3, SEARCH_DONE, 0));
        transport
            .reads
            .push_back(result_message(4, BIND_RESPONSE, 0));

        let verdict = run(&settings, &mut transport, "bob", "pw").expect("verdict");
        let Verdict::Authenticated(identity) = verdict else {
            panic!("expected a login, got {verdict:?}");
        };
        assert_eq!(identity.profile_ids, ["admin", "default", "staff"]);
    }

    #[test]
    fn content_keeps_several_values() {
        let settings = settings(json!({"contentAttributes": {"emails": "mail"}}));
        let entry = Entry {
            dn: "uid=a".to_owned(),
            attributes: vec![protocol::Attribute {
                name: "mail".to_owned(),
                values: vec![b"a@x".to_vec(), vec![0xff], b"b@x".to_vec()],
            }],
        };
        assert_eq!(
            content(&settings, &entry),
            json!({"emails": ["a@x", "b@x"]})
        );
    }
}
