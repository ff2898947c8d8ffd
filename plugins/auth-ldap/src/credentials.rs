//! The credentials functions: an administrator links an existing user to an LDAP username with
//! `{"username": "..."}`. The directory keeps the password, so the plugin stores none.

use palisade_plugin_sdk::{ApiError, Credentials, Value, json};

use crate::login::{bind_service, find_user};
use crate::settings::{Settings, UserLookup};
use crate::transport;

/// The longest username accepted, in bytes.
pub const MAX_USERNAME_BYTES: usize = 256;

/// Checks `{"username"}` and returns the credentials to store. In search-then-bind mode the
/// service account must find exactly one entry for the username.
///
/// # Errors
///
/// A 400 `security.credentials.rejected` error for another field, a missing or invalid
/// username, or a username that matches no single entry; the LDAP errors of a search.
pub fn create(settings: &Settings, credentials: &Value) -> Result<Credentials, ApiError> {
    let username = username(credentials)?;
    let dn = match &settings.lookup {
        UserLookup::Template(template) => {
            template.replace("{username}", &crate::escape::escape_dn_value(username))
        }
        UserLookup::Search(search) => {
            let mut client = transport::connect(settings)?;
            let found = bind_service(&mut client, search)
                .and_then(|()| find_user(settings, &mut client, search, username));
            client.unbind();
            match found? {
                Ok(entry) => entry.dn,
                Err(reason) => return Err(rejected(&format!("{reason}."), "username")),
            }
        }
    };
    Ok(Credentials::new(username).document(json!({"dn": dn})))
}

/// Returns what a client may see: the user's id, LDAP username and DN.
pub fn info(kuid: &str, current: &Credentials) -> Value {
    let mut info = json!({"kuid": kuid, "username": current.subject});
    if let Some(dn) = current.document.get("dn") {
        info["dn"] = dn.clone();
    }
    info
}

/// Reads the `username` of `{"username"}`, the only field allowed.
fn username(credentials: &Value) -> Result<&str, ApiError> {
    let Some(object) = credentials.as_object() else {
        return Err(rejected(
            "LDAP credentials must be an object: {\"username\": \"...\"}.",
            "username",
        ));
    };
    if let Some(field) = object.keys().find(|field| *field != "username") {
        return Err(rejected(
            &format!(
                "LDAP credentials accept only \"username\", not \"{field}\": the directory \
                 checks the password."
            ),
            field,
        ));
    }

    match object.get("username") {
        Some(Value::String(username))
            if !username.is_empty() && username.len() <= MAX_USERNAME_BYTES =>
        {
            Ok(username)
        }
        _ => Err(rejected(
            &format!("\"username\" must be a string of 1 to {MAX_USERNAME_BYTES} bytes."),
            "username",
        )),
    }
}

fn rejected(message: &str, field: &str) -> ApiError {
    ApiError::new(400, "security.credentials.rejected", message).prop(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_init(&json!({
            "url": "ldaps://ldap.test",
            "bindDnTemplate": "uid={username},ou=people,dc=example,dc=org",
        }))
        .expect("valid settings")
    }

    #[test]
    fn template_credentials_created() {
        let credentials = create(&settings(), &json!({"username": "alice"})).expect("valid");
        assert_eq!(credentials.subject, "alice");
        assert_eq!(
            credentials.document,
            json!({"dn": "uid=alice,ou=people,dc=example,dc=org"})
        );
    }

    #[test]
    fn password_field_rejected() {
        let error = create(&settings(), &json!({"username": "alice", "password": "x"}))
            .expect_err("password");
        assert_eq!(error.id, "security.credentials.rejected");
        assert_eq!(error.props, ["password"]);
    }

    #[test]
    fn invalid_usernames_rejected() {
        let long = "a".repeat(MAX_USERNAME_BYTES + 1);
        for credentials in [
            json!({}),
            json!({"username": ""}),
            json!({"username": 3}),
            json!({"username": long}),
            json!("alice"),
        ] {
            let error = create(&settings(), &credentials).expect_err("invalid");
            assert_eq!(error.status, 400, "{credentials}");
            assert_eq!(error.id, "security.credentials.rejected", "{credentials}");
        }
    }

    #[test]
    fn info_has_no_secret() {
        let credentials = Credentials::new("alice").document(json!({"dn": "uid=alice,dc=org"}));
        assert_eq!(
            info("kuid-1", &credentials),
            json!({"kuid": "kuid-1", "username": "alice", "dn": "uid=alice,dc=org"})
        );
    }
}
