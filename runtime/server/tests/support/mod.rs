//! Helpers shared by the security tests: requests through `POST /_query`, logins and the first
//! administrator.

#![allow(
    dead_code,
    reason = "each test crate uses a different subset of the helpers"
)]

use palisade_test_harness::TestServer;
use reqwest::Client;
use serde_json::{Value, json};

/// Username and password of the administrator created by [`Api::create_first_admin`].
pub const ADMIN: (&str, &str) = ("admin", "admin-password");

/// An HTTP client sending whole request payloads to one server.
pub struct Api {
    client: Client,
    url: String,
}

impl Api {
    /// Creates a client for a running server.
    pub fn new(server: &TestServer) -> Self {
        Self {
            client: Client::new(),
            url: format!("{}/_query", server.http_url()),
        }
    }

    /// Sends a payload, with `jwt` when a token is given, and returns the response envelope.
    pub async fn query(&self, mut payload: Value, token: Option<&str>) -> Value {
        if let Some(token) = token {
            payload["jwt"] = json!(token);
        }
        let response = self.client.post(&self.url).json(&payload).send().await;
        let response = response.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("response body");
        // Raw responses (`server:metrics`) have no envelope.
        serde_json::from_str(&text).unwrap_or_else(|_| json!({"status": status, "raw": text}))
    }

    /// Sends a payload and returns its result, panicking with the error when it failed.
    pub async fn ok(&self, payload: Value, token: Option<&str>) -> Value {
        let described = payload.to_string();
        let envelope = self.query(payload, token).await;
        assert_eq!(
            envelope["status"], 200,
            "request {described} failed: {}",
            envelope["error"]
        );
        envelope["result"].clone()
    }

    /// Logs in with the `local` strategy and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        self.login_for(username, password, None).await
    }

    /// Logs in with an `expiresIn` and returns the token.
    pub async fn login_for(
        &self,
        username: &str,
        password: &str,
        expires_in: Option<Value>,
    ) -> String {
        let mut payload = json!({
            "controller": "auth",
            "action": "login",
            "strategy": "local",
            "body": {"username": username, "password": password},
        });
        if let Some(expires_in) = expires_in {
            payload["expiresIn"] = expires_in;
        }
        let result = self.ok(payload, None).await;
        result["jwt"]
            .as_str()
            .expect("jwt in login result")
            .to_owned()
    }

    /// Creates the first administrator with `reset`, which restricts the default rights, and
    /// returns its token.
    pub async fn create_first_admin(&self) -> String {
        let payload = json!({
            "controller": "security",
            "action": "createFirstAdmin",
            "_id": "admin",
            "reset": true,
            "body": {
                "content": {"name": "Administrator"},
                "credentials": {"local": {"username": ADMIN.0, "password": ADMIN.1}},
            },
        });
        self.ok(payload, None).await;
        self.login(ADMIN.0, ADMIN.1).await
    }

    /// Creates a user with one profile and local credentials whose username is the kuid.
    pub async fn create_user(&self, admin: &str, kuid: &str, profile: &str, password: &str) {
        let payload = json!({
            "controller": "security",
            "action": "createUser",
            "_id": kuid,
            "body": {
                "content": {"profileIds": [profile]},
                "credentials": {"local": {"username": kuid, "password": password}},
            },
        });
        self.ok(payload, Some(admin)).await;
    }

    /// Creates or replaces a role.
    pub async fn put_role(&self, admin: &str, id: &str, controllers: Value) {
        let payload = json!({
            "controller": "security",
            "action": "createOrReplaceRole",
            "_id": id,
            "body": {"controllers": controllers},
        });
        self.ok(payload, Some(admin)).await;
    }

    /// Creates or replaces a profile.
    pub async fn put_profile(&self, admin: &str, id: &str, policies: Value) {
        let payload = json!({
            "controller": "security",
            "action": "createOrReplaceProfile",
            "_id": id,
            "body": {"policies": policies, "rateLimit": 0},
        });
        self.ok(payload, Some(admin)).await;
    }
}

/// Returns the error id of an envelope, or an empty string for a success.
pub fn error_id(envelope: &Value) -> &str {
    envelope["error"]["id"].as_str().unwrap_or_default()
}
