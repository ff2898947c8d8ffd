//! The plugin's settings, the `[settings]` table of `auth-ldap.toml`. `init` checks them and
//! every call reads them again with [`Settings::for_calls`].

use palisade_plugin_sdk::{ApiError, Value};

use crate::escape::normalize_dn;
use crate::filter;
use crate::protocol::Scope;
use crate::url::ServerUrl;

/// The strategy name when `strategy` is not set.
pub const DEFAULT_STRATEGY: &str = "ldap";
/// The per-operation timeout when `timeoutMs` is not set.
pub const DEFAULT_TIMEOUT_MS: u32 = 5_000;
/// The largest `timeoutMs` accepted.
pub const MAX_TIMEOUT_MS: u32 = 60_000;
/// The group search filter when `groupSearchFilter` is not set.
pub const DEFAULT_GROUP_FILTER: &str = "(member={dn})";

/// The method that finds the DN of the user who logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    /// Binds directly as the template with `{username}` replaced by the escaped username.
    Template(String),
    /// Binds as a service account, searches for the user, then binds as the entry found.
    Search(UserSearch),
}

/// The settings of the search-then-bind mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch {
    /// `searchBase`.
    pub base: String,
    /// `searchFilter`, with `{username}`.
    pub filter: String,
    /// `searchScope`.
    pub scope: Scope,
    /// `serviceDn`.
    pub service_dn: String,
    /// `servicePassword`.
    pub service_password: String,
}

/// The source of the user's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupSource {
    /// The values of an attribute of the user's entry, `memberOf` by default.
    Attribute(String),
    /// A subtree search under `base` with a filter in which `{dn}` is the user's DN.
    Search {
        /// `groupSearchBase`.
        base: String,
        /// `groupSearchFilter`.
        filter: String,
    },
}

/// The parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The strategy name that `auth:login` uses.
    pub strategy: String,
    /// The server.
    pub url: ServerUrl,
    /// Whether a plain connection is upgraded with StartTLS before the first bind.
    pub start_tls: bool,
    /// The method that finds the user's DN.
    pub lookup: UserLookup,
    /// The source of the groups.
    pub groups: GroupSource,
    /// Group DN (normalized with [`normalize_dn`]) and the profile ids it grants.
    pub group_profiles: Vec<(String, Vec<String>)>,
    /// User content key and the LDAP attribute it comes from.
    pub content_attributes: Vec<(String, String)>,
    /// Timeout of each network operation, in milliseconds.
    pub timeout_ms: u32,
}

impl Settings {
    /// Reads and checks the settings that `init` receives.
    ///
    /// # Errors
    ///
    /// A 400 `plugin.config.invalid` error that names the missing or invalid key.
    pub fn from_init(settings: &Value) -> Result<Self, ApiError> {
        let Some(object) = settings.as_object() else {
            return Err(invalid("[settings]", "must be a table"));
        };
        let url_text = required_string(settings, "url")?;
        let url = ServerUrl::parse(url_text).map_err(|reason| invalid("url", &reason))?;
        let start_tls = optional_bool(settings, "startTls")?.unwrap_or(false);
        let allow_plain_text = optional_bool(settings, "allowPlainText")?.unwrap_or(false);
        check_security(&url, start_tls, allow_plain_text)?;

        let strategy = optional_string(settings, "strategy")?.unwrap_or(DEFAULT_STRATEGY);
        let timeout_ms = timeout(settings)?;
        let lookup = user_lookup(settings)?;
        let groups = group_source(settings)?;
        let group_profiles = group_profiles(object.get("groupProfiles"))?;
        let content_attributes = content_attributes(object.get("contentAttributes"))?;

        Ok(Self {
            strategy: strategy.to_owned(),
            url,
            start_tls,
            lookup,
            groups,
            group_profiles,
            content_attributes,
            timeout_ms,
        })
    }

    /// Reads the settings during a call, from the object that the host gave `init`.
    ///
    /// # Errors
    ///
    /// The error of [`Settings::from_init`].
    pub fn for_calls() -> Result<Self, ApiError> {
        Self::from_init(&palisade_plugin_sdk::environment::settings())
    }

    /// Returns the attributes that the user's entry must return: the content attributes and the
    /// group attribute, or `1.1` (no attributes) when none is needed.
    pub fn entry_attributes(&self) -> Vec<String> {
        let mut attributes: Vec<String> = self
            .content_attributes
            .iter()
            .map(|(_, attribute)| attribute.clone())
            .collect();
        if let GroupSource::Attribute(attribute) = &self.groups
            && !self.group_profiles.is_empty()
        {
            attributes.push(attribute.clone());
        }
        if attributes.is_empty() {
            attributes.push("1.1".to_owned());
        }
        attributes
    }
}

fn invalid(key: &str, reason: &str) -> ApiError {
    ApiError::new(
        400,
        "plugin.config.invalid",
        format!("Invalid LDAP setting \"{key}\": {reason}."),
    )
    .prop(key)
}

fn required_string<'a>(settings: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    optional_string(settings, key)?.ok_or_else(|| invalid(key, "missing, it must be set"))
}

fn optional_string<'a>(settings: &'a Value, key: &str) -> Result<Option<&'a str>, ApiError> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) if !value.is_empty() => Ok(Some(value)),
        Some(_) => Err(invalid(key, "must be a non-empty string")),
    }
}

fn optional_bool(settings: &Value, key: &str) -> Result<Option<bool>, ApiError> {
    match settings.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(invalid(key, "must be true or false")),
    }
}

/// Requires TLS unless the operator allowed plain text, so passwords never cross the network in
/// clear text by accident.
fn check_security(
    url: &ServerUrl,
    start_tls: bool,
    allow_plain_text: bool,
) -> Result<(), ApiError> {
    if url.ldaps && start_tls {
        return Err(invalid(
            "startTls",
            "an ldaps:// URL already starts with TLS, so set startTls to false",
        ));
    }
    if !url.ldaps && !start_tls && !allow_plain_text {
        return Err(invalid(
            "url",
            "an ldap:// URL without startTls sends passwords in clear text; use ldaps://, set \
             startTls to true, or set allowPlainText to true",
        ));
    }
    Ok(())
}

fn timeout(settings: &Value) -> Result<u32, ApiError> {
    match settings.get("timeoutMs") {
        None | Some(Value::Null) => Ok(DEFAULT_TIMEOUT_MS),
        Some(value) => value
            .as_u64()
            .filter(|&timeout| (1..=MAX_TIMEOUT_MS as u64).contains(&timeout))
            .map(|timeout| timeout as u32)
            .ok_or_else(|| {
                invalid(
                    "timeoutMs",
                    &format!("must be an integer from 1 to {MAX_TIMEOUT_MS} milliseconds"),
                )
            }),
    }
}

fn user_lookup(settings: &Value) -> Result<UserLookup, ApiError> {
    let template = optional_string(settings, "bindDnTemplate")?;
    let search_base = optional_string(settings, "searchBase")?;

    match (template, search_base) {
        (Some(_), Some(_)) => Err(invalid(
            "bindDnTemplate",
            "set either bindDnTemplate or searchBase, not both",
        )),
        (None, None) => Err(invalid(
            "bindDnTemplate",
            "missing: set bindDnTemplate, or searchBase with searchFilter, serviceDn and \
             servicePassword",
        )),
        (Some(template), None) => {
            if !template.contains("{username}") {
                return Err(invalid("bindDnTemplate", "must contain {username}"));
            }
            Ok(UserLookup::Template(template.to_owned()))
        }
        (None, Some(base)) => user_search(settings, base).map(UserLookup::Search),
    }
}

fn user_search(settings: &Value, base: &str) -> Result<UserSearch, ApiError> {
    let filter = required_string(settings, "searchFilter")?;
    check_filter_template("searchFilter", filter, "{username}")?;

    let scope = match optional_string(settings, "searchScope")? {
        None | Some("sub") => Scope::Subtree,
        Some("one") => Scope::OneLevel,
        Some("base") => Scope::Base,
        Some(_) => {
            return Err(invalid(
                "searchScope",
                "must be \"sub\", \"one\" or \"base\"",
            ));
        }
    };

    Ok(UserSearch {
        base: base.to_owned(),
        filter: filter.to_owned(),
        scope,
        service_dn: required_string(settings, "serviceDn")?.to_owned(),
        // An empty password would make the bind unauthenticated (RFC 4513 section 5.1.2), so
        // `required_string` rejects it.
        service_password: required_string(settings, "servicePassword")?.to_owned(),
    })
}

/// Checks that `template` contains `placeholder` and is a valid filter once it is replaced.
fn check_filter_template(key: &str, template: &str, placeholder: &str) -> Result<(), ApiError> {
    if !template.contains(placeholder) {
        return Err(invalid(key, &format!("must contain {placeholder}")));
    }
    let sample = template.replace(placeholder, "x");
    filter::encode(&sample)
        .map(drop)
        .map_err(|error| invalid(key, &format!("is not a valid LDAP filter ({error})")))
}

fn group_source(settings: &Value) -> Result<GroupSource, ApiError> {
    let attribute = optional_string(settings, "groupAttribute")?;
    let base = optional_string(settings, "groupSearchBase")?;
    let filter = optional_string(settings, "groupSearchFilter")?;

    match (attribute, base) {
        (Some(_), Some(_)) => Err(invalid(
            "groupAttribute",
            "set either groupAttribute or groupSearchBase, not both",
        )),
        (_, Some(base)) => {
            let filter = filter.unwrap_or(DEFAULT_GROUP_FILTER);
            check_filter_template("groupSearchFilter", filter, "{dn}")?;
            Ok(GroupSource::Search {
                base: base.to_owned(),
                filter: filter.to_owned(),
            })
        }
        (attribute, None) => {
            if filter.is_some() {
                return Err(invalid(
                    "groupSearchFilter",
                    "needs groupSearchBase, the base of the group search",
                ));
            }
            Ok(GroupSource::Attribute(
                attribute.unwrap_or("memberOf").to_owned(),
            ))
        }
    }
}

fn group_profiles(value: Option<&Value>) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    let key = "groupProfiles";
    let object = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(invalid(key, "must be a table of group DN to profile ids")),
    };

    let mut mappings = Vec::new();
    for (group, profiles) in object {
        let profiles = match profiles {
            Value::String(profile) => vec![profile.clone()],
            Value::Array(profiles) => profiles
                .iter()
                .map(|profile| profile.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    invalid(key, &format!("the profiles of \"{group}\" must be strings"))
                })?,
            _ => {
                return Err(invalid(
                    key,
                    &format!("the profiles of \"{group}\" must be a string or an array"),
                ));
            }
        };
        if profiles.iter().any(String::is_empty) {
            return Err(invalid(
                key,
                &format!("\"{group}\" maps to an empty profile id"),
            ));
        }
        mappings.push((normalize_dn(group), profiles));
    }
    Ok(mappings)
}

fn content_attributes(value: Option<&Value>) -> Result<Vec<(String, String)>, ApiError> {
    let key = "contentAttributes";
    let pairs: Vec<(String, Option<&str>)> = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| (name.as_str().unwrap_or_default().to_owned(), name.as_str()))
            .collect(),
        Some(Value::Object(object)) => object
            .iter()
            .map(|(field, attribute)| (field.clone(), attribute.as_str()))
            .collect(),
        Some(_) => {
            return Err(invalid(
                key,
                "must be an array of attribute names or a table of content field to attribute",
            ));
        }
    };

    let mut attributes = Vec::new();
    for (field, attribute) in pairs {
        let attribute = attribute.filter(|attribute| is_attribute_name(attribute));
        match attribute {
            Some(attribute) if !field.is_empty() => {
                attributes.push((field, attribute.to_owned()));
            }
            _ => {
                return Err(invalid(
                    key,
                    "every attribute must be an LDAP attribute name such as \"mail\"",
                ));
            }
        }
    }
    Ok(attributes)
}

fn is_attribute_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b';'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_plugin_sdk::json;

    fn template_settings() -> Value {
        json!({
            "url": "ldaps://127.0.0.1:6360",
            "bindDnTemplate": "uid={username},ou=people,dc=example,dc=org",
        })
    }

    fn search_settings() -> Value {
        json!({
            "url": "ldap://127.0.0.1:3890",
            "startTls": true,
            "searchBase": "ou=people,dc=example,dc=org",
            "searchFilter": "(&(objectClass=inetOrgPerson)(uid={username}))",
            "serviceDn": "cn=service,dc=example,dc=org",
            "servicePassword": "secret",
        })
    }

    fn error_key(settings: Value) -> String {
        let error = Settings::from_init(&settings).expect_err("invalid settings");
        assert_eq!(error.status, 400);
        assert_eq!(error.id, "plugin.config.invalid");
        error.props[0].clone()
    }

    #[test]
    fn template_settings_parsed() {
        let settings = Settings::from_init(&template_settings()).expect("valid");
        assert_eq!(settings.strategy, "ldap");
        assert_eq!(settings.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(settings.url.ldaps);
        assert_eq!(
            settings.lookup,
            UserLookup::Template("uid={username},ou=people,dc=example,dc=org".to_owned())
        );
        assert_eq!(
            settings.groups,
            GroupSource::Attribute("memberOf".to_owned())
        );
        assert_eq!(settings.entry_attributes(), ["1.1"]);
    }

    #[test]
    fn search_settings_parsed() {
        let settings = Settings::from_init(&search_settings()).expect("valid");
        let UserLookup::Search(search) = settings.lookup else {
            panic!("expected the search mode");
        };
        assert_eq!(search.scope, Scope::Subtree);
        assert_eq!(search.service_dn, "cn=service,dc=example,dc=org");
        assert!(settings.start_tls);
    }

    #[test]
    fn groups_and_content_parsed() {
        let mut settings = template_settings();
        settings["groupProfiles"] = json!({
            "CN=Admins, OU=Groups,dc=example,dc=org": ["admin", "default"],
            "cn=staff,ou=groups,dc=example,dc=org": "staff",
        });
        settings["contentAttributes"] = json!({"email": "mail", "name": "cn"});
        let settings = Settings::from_init(&settings).expect("valid");

        assert_eq!(
            settings.group_profiles[0],
            (
                "cn=admins,ou=groups,dc=example,dc=org".to_owned(),
                vec!["admin".to_owned(), "default".to_owned()]
            )
        );
        assert_eq!(settings.group_profiles[1].1, ["staff"]);
        assert_eq!(
            settings.content_attributes,
            [
                ("email".to_owned(), "mail".to_owned()),
                ("name".to_owned(), "cn".to_owned())
            ]
        );
        assert_eq!(settings.entry_attributes(), ["mail", "cn", "memberOf"]);
    }

    #[test]
    fn content_attribute_list_parsed() {
        let mut settings = template_settings();
        settings["contentAttributes"] = json!(["mail"]);
        let settings = Settings::from_init(&settings).expect("valid");
        assert_eq!(
            settings.content_attributes,
            [("mail".to_owned(), "mail".to_owned())]
        );
    }

    #[test]
    fn group_search_parsed() {
        let mut settings = template_settings();
        settings["groupSearchBase"] = json!("ou=groups,dc=example,dc=org");
        let settings = Settings::from_init(&settings).expect("valid");
        assert_eq!(
            settings.groups,
            GroupSource::Search {
                base: "ou=groups,dc=example,dc=org".to_owned(),
                filter: DEFAULT_GROUP_FILTER.to_owned(),
            }
        );
    }

    #[test]
    fn missing_url_named() {
        let mut settings = template_settings();
        settings.as_object_mut().expect("object").remove("url");
        assert_eq!(error_key(settings), "url");
    }

    #[test]
    fn plain_text_needs_consent() {
        let mut settings = template_settings();
        settings["url"] = json!("ldap://127.0.0.1:3890");
        assert_eq!(error_key(settings.clone()), "url");

        settings["allowPlainText"] = json!(true);
        assert!(Settings::from_init(&settings).is_ok());
    }

    #[test]
    fn start_tls_with_ldaps_rejected() {
        let mut settings = template_settings();
        settings["startTls"] = json!(true);
        assert_eq!(error_key(settings), "startTls");
    }

    #[test]
    fn lookup_mode_required_once() {
        let mut settings = template_settings();
        settings
            .as_object_mut()
            .expect("object")
            .remove("bindDnTemplate");
        assert_eq!(error_key(settings), "bindDnTemplate");

        let mut both = search_settings();
        both["bindDnTemplate"] = json!("uid={username},dc=org");
        assert_eq!(error_key(both), "bindDnTemplate");
    }

    #[test]
    fn template_without_placeholder_rejected() {
        let mut settings = template_settings();
        settings["bindDnTemplate"] = json!("uid=alice,dc=org");
        assert_eq!(error_key(settings), "bindDnTemplate");
    }

    #[test]
    fn search_keys_required() {
        for key in ["searchFilter", "serviceDn", "servicePassword"] {
            let mut settings = search_settings();
            settings.as_object_mut().expect("object").remove(key);
            assert_eq!(error_key(settings), key);
        }
    }

    #[test]
    fn empty_service_password_rejected() {
        let mut settings = search_settings();
        settings["servicePassword"] = json!("");
        assert_eq!(error_key(settings), "servicePassword");
    }

    #[test]
    fn invalid_search_filter_rejected() {
        let mut settings = search_settings();
        settings["searchFilter"] = json!("(uid={username}");
        assert_eq!(error_key(settings.clone()), "searchFilter");

        settings["searchFilter"] = json!("(uid=alice)");
        assert_eq!(error_key(settings), "searchFilter");
    }

    #[test]
    fn invalid_values_named() {
        let cases = [
            ("timeoutMs", json!(0)),
            ("timeoutMs", json!(600_000)),
            ("timeoutMs", json!("5000")),
            ("startTls", json!("yes")),
            ("strategy", json!("")),
            ("searchScope", json!("deep")),
            ("groupProfiles", json!(["cn=a"])),
            ("groupProfiles", json!({"cn=a": [1]})),
            ("groupProfiles", json!({"cn=a": ""})),
            ("contentAttributes", json!("mail")),
            ("contentAttributes", json!(["mail)("])),
            ("contentAttributes", json!({"email": 3})),
        ];
        for (key, value) in cases {
            let mut settings = search_settings();
            settings[key] = value.clone();
            assert_eq!(error_key(settings), key, "{key} = {value}");
        }
    }

    #[test]
    fn group_filter_without_base_rejected() {
        let mut settings = template_settings();
        settings["groupSearchFilter"] = json!("(member={dn})");
        assert_eq!(error_key(settings), "groupSearchFilter");
    }
}
