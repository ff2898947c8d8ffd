//! Authentication strategies that plugins provide: logins through their `verify`, and the
//! credentials the server stores for them.

use std::sync::Arc;

use palisade_api::{ApiError, ErrorId, RawBody, Request, Response};
use palisade_plugins::ApiError as GuestError;
use palisade_plugins::{
    NextStep, Plugin, PluginError, StoredCredentials, StrategyIdentity, Verdict,
};
use palisade_security::{ANONYMOUS_KUID, StrategyCredentials, User};
use serde_json::{Map, Value, json};

use super::set::LoadedPlugin;
use super::{convert, events, run_blocking};
use crate::errors::from_security;
use crate::state::ServerState;

/// Arguments of `auth:login` that configure the login rather than carry credentials.
const LOGIN_ARGUMENTS: [&str; 3] = ["strategy", "expiresIn", "cookieAuth"];

/// The outcome of a login through a plugin strategy.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The user `kuid` proved who they are: issue a token.
    LoggedIn {
        /// The user's kuid.
        kuid: String,
    },
    /// The login goes on elsewhere: send this response.
    NextStep(Response),
}

/// A strategy that a loaded plugin provides.
#[derive(Debug, Clone)]
pub struct PluginStrategy {
    /// The strategy's name, as in `auth:login?strategy=<name>`.
    pub name: String,
    /// The plugin that provides it.
    pub plugin: Arc<LoadedPlugin>,
}

impl PluginStrategy {
    /// Returns the credential fields the manifest declares for this strategy.
    pub fn fields(&self) -> Vec<String> {
        self.plugin
            .manifest
            .strategies
            .iter()
            .find(|strategy| strategy.name == self.name)
            .map(|strategy| strategy.fields.clone())
            .unwrap_or_default()
    }

    /// Runs a login: the plugin's `verify`, then the lookup or creation of the user it proved.
    ///
    /// # Errors
    ///
    /// 401 `plugin.strategy.missing_user` for rejected credentials and unknown users, the
    /// plugin's own error, or the failure of the plugin call.
    pub async fn login(
        &self,
        state: &ServerState,
        request: &Request,
    ) -> Result<LoginOutcome, ApiError> {
        let credentials = login_credentials(request);
        let verdict = self.verify(state, request, credentials).await?;

        match verdict {
            Verdict::Authenticated(identity) => {
                let kuid = self.user_of(state, identity).await?;
                Ok(LoginOutcome::LoggedIn { kuid })
            }
            Verdict::Rejected(reason) => {
                tracing::info!(
                    strategy = %self.name,
                    plugin = %self.plugin.name,
                    %reason,
                    "login rejected"
                );
                Err(missing_user())
            }
            Verdict::NextStep(step) => {
                let http = request.context.protocol == palisade_api::Protocol::Http;
                Ok(LoginOutcome::NextStep(next_step_response(step, http)))
            }
        }
    }

    async fn verify(
        &self,
        state: &ServerState,
        request: &Request,
        credentials: Value,
    ) -> Result<Verdict, ApiError> {
        let user = palisade_plugins::User {
            id: request.context.kuid().unwrap_or(ANONYMOUS_KUID).to_owned(),
            profile_ids: events::user_profiles(state, request).await,
        };
        let parts = convert::plugin_request(request, user);
        let record = Arc::new(palisade_plugins::Request::new(parts));
        let credentials = credentials.to_string();
        self.call(move |plugin, strategy| plugin.verify(strategy, &credentials, &record))
            .await
    }

    /// Runs one of the plugin's strategy functions with this strategy's name, off the async
    /// code, and turns a failed call and the plugin's own error into API errors.
    async fn call<T: Send + 'static>(
        &self,
        run: impl FnOnce(&Plugin, &str) -> Result<Result<T, GuestError>, PluginError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (plugin, strategy) = (Arc::clone(&self.plugin), self.name.clone());
        run_blocking(move || run(&plugin.plugin, &strategy))
            .await?
            .map_err(|error| convert::host_error(&error))?
            .map_err(convert::guest_error)
    }

    /// Returns the kuid linked to the identity's subject, creating the user when provisioning
    /// is enabled.
    async fn user_of(
        &self,
        state: &ServerState,
        identity: StrategyIdentity,
    ) -> Result<String, ApiError> {
        let store = &state.security.strategy_credentials;
        let linked = store
            .find_by_subject(&self.name, &identity.subject)
            .await
            .map_err(from_security)?;
        if let Some(linked) = linked {
            return Ok(linked.kuid);
        }

        let provisioning = &self.plugin.settings.provisioning;
        if !provisioning.enabled {
            tracing::info!(
                strategy = %self.name,
                subject = %identity.subject,
                "login rejected: no user is linked to the subject and provisioning is off"
            );
            return Err(missing_user());
        }
        self.provision(state, identity).await
    }

    /// Creates a user for a new identity and links the subject to it.
    async fn provision(
        &self,
        state: &ServerState,
        identity: StrategyIdentity,
    ) -> Result<String, ApiError> {
        let profile_ids = if identity.profile_ids.is_empty() {
            self.plugin.settings.provisioning.profiles.clone()
        } else {
            identity.profile_ids
        };
        let user = User {
            id: User::generate_id(),
            profile_ids,
            content: parse_object(&identity.content, "identity content")?,
        };
        let security = &state.security.security;
        security.create_user(&user).await.map_err(from_security)?;

        let credentials = StrategyCredentials {
            kuid: user.id.clone(),
            subject: identity.subject,
            document: Value::Object(parse_object(&identity.document, "identity document")?),
        };
        let linked = state
            .security
            .strategy_credentials
            .create(&self.name, &credentials)
            .await;
        if let Err(error) = linked {
            // Another login of the same subject may have won the race: keep its user.
            if let Err(cleanup) = security.delete_user(&user.id).await {
                tracing::warn!(kuid = %user.id, error = %cleanup, "cannot remove a half-created user");
            }
            return match state
                .security
                .strategy_credentials
                .find_by_subject(&self.name, &credentials.subject)
                .await
            {
                Ok(Some(winner)) => Ok(winner.kuid),
                _ => Err(from_security(error)),
            };
        }
        tracing::info!(
            kuid = %user.id,
            strategy = %self.name,
            profiles = ?user.profile_ids,
            "user created on first login"
        );
        Ok(user.id)
    }

    /// Checks and stores new credentials of `kuid`. Returns what the strategy lets clients see.
    ///
    /// # Errors
    ///
    /// The plugin's error, or `security.credentials.rejected` when the subject is taken.
    pub async fn create(
        &self,
        state: &ServerState,
        kuid: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let (owned_kuid, credentials) = (kuid.to_owned(), body.to_string());
        let stored = self
            .call(move |plugin, strategy| {
                plugin.create_credentials(strategy, &owned_kuid, &credentials)
            })
            .await?;

        let credentials = to_credentials(kuid, &stored)?;
        let store = &state.security.strategy_credentials;
        store
            .create(&self.name, &credentials)
            .await
            .map_err(from_security)?;
        self.info(kuid, stored).await
    }

    /// Checks a change to the credentials of `kuid` and stores the result.
    ///
    /// # Errors
    ///
    /// `security.credentials.rejected` when the user has none, or the plugin's error.
    pub async fn update(
        &self,
        state: &ServerState,
        kuid: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let current = self.require(state, kuid).await?;
        let (owned_kuid, credentials) = (kuid.to_owned(), body.to_string());
        let stored = self
            .call(move |plugin, strategy| {
                plugin.update_credentials(strategy, &owned_kuid, &credentials, &current)
            })
            .await?;

        let credentials = to_credentials(kuid, &stored)?;
        let store = &state.security.strategy_credentials;
        store
            .replace(&self.name, &credentials)
            .await
            .map_err(from_security)?;
        self.info(kuid, stored).await
    }

    /// Checks credentials of `kuid` without storing them.
    ///
    /// # Errors
    ///
    /// The plugin's error.
    pub async fn validate(
        &self,
        state: &ServerState,
        kuid: &str,
        body: &Value,
    ) -> Result<(), ApiError> {
        let current = self.current(state, kuid).await?;
        let (owned_kuid, credentials) = (kuid.to_owned(), body.to_string());
        self.call(move |plugin, strategy| {
            plugin.validate_credentials(strategy, &owned_kuid, &credentials, current.as_ref())
        })
        .await
    }

    /// Deletes the credentials of `kuid`, once the plugin agrees.
    ///
    /// # Errors
    ///
    /// `security.credentials.rejected` when the user has none, or the plugin's error.
    pub async fn delete(&self, state: &ServerState, kuid: &str) -> Result<(), ApiError> {
        let current = self.require(state, kuid).await?;
        let owned_kuid = kuid.to_owned();
        self.call(move |plugin, strategy| {
            plugin.delete_credentials(strategy, &owned_kuid, &current)
        })
        .await?;

        let store = &state.security.strategy_credentials;
        store
            .delete(&self.name, kuid)
            .await
            .map_err(from_security)?;
        Ok(())
    }

    /// Returns what clients may see of the credentials of `kuid`, or `{}` without any.
    ///
    /// # Errors
    ///
    /// The plugin's error.
    pub async fn get(&self, state: &ServerState, kuid: &str) -> Result<Value, ApiError> {
        match self.current(state, kuid).await? {
            Some(current) => self.info(kuid, current).await,
            None => Ok(json!({})),
        }
    }

    /// Returns whether `kuid` has credentials for this strategy.
    ///
    /// # Errors
    ///
    /// The store error.
    pub async fn exists(&self, state: &ServerState, kuid: &str) -> Result<bool, ApiError> {
        Ok(self.current(state, kuid).await?.is_some())
    }

    /// Returns the kuid whose credentials have the subject `subject`.
    ///
    /// # Errors
    ///
    /// The store error.
    pub async fn kuid_of(
        &self,
        state: &ServerState,
        subject: &str,
    ) -> Result<Option<String>, ApiError> {
        let store = &state.security.strategy_credentials;
        let found = store
            .find_by_subject(&self.name, subject)
            .await
            .map_err(from_security)?;
        Ok(found.map(|credentials| credentials.kuid))
    }

    async fn current(
        &self,
        state: &ServerState,
        kuid: &str,
    ) -> Result<Option<StoredCredentials>, ApiError> {
        let store = &state.security.strategy_credentials;
        let found = store.get(&self.name, kuid).await.map_err(from_security)?;
        Ok(found.map(|credentials| StoredCredentials {
            subject: credentials.subject,
            document: credentials.document.to_string(),
        }))
    }

    async fn require(
        &self,
        state: &ServerState,
        kuid: &str,
    ) -> Result<StoredCredentials, ApiError> {
        self.current(state, kuid).await?.ok_or_else(|| {
            from_security(palisade_security::SecurityError::CredentialsRejected {
                strategy: self.name.clone(),
                reason: format!("user `{kuid}` has no {} credentials", self.name),
            })
        })
    }

    async fn info(&self, kuid: &str, stored: StoredCredentials) -> Result<Value, ApiError> {
        let owned_kuid = kuid.to_owned();
        let info = self
            .call(move |plugin, strategy| plugin.credentials_info(strategy, &owned_kuid, &stored))
            .await?;
        Ok(Value::Object(parse_object(&info, "credentials info")?))
    }
}

/// Returns the credentials of a login: the body when there is one, else the arguments, such as
/// the query string of `GET /_login/<strategy>`, without the login's own settings.
fn login_credentials(request: &Request) -> Value {
    if let Some(Value::Object(body)) = &request.body {
        return Value::Object(body.clone());
    }
    let mut arguments = request.args.clone();
    for name in LOGIN_ARGUMENTS {
        arguments.remove(name);
    }
    Value::Object(arguments)
}

/// Turns a strategy's next step into a response: as it is over HTTP, and as
/// `{status, headers, body}` over other protocols.
fn next_step_response(step: NextStep, http: bool) -> Response {
    let headers: Map<String, Value> = step
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
        .collect();
    let content_type = step
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map_or_else(
            || "text/plain; charset=utf-8".to_owned(),
            |(_, value)| value.clone(),
        );

    let mut response = Response::ok(json!({
        "status": step.status,
        "headers": headers,
        "body": step.body,
    }));
    if !http {
        return response;
    }
    response.status = step.status;
    response.headers = headers;
    response.raw = Some(RawBody {
        content_type,
        content: step.body.into_bytes(),
        stream: None,
    });
    response
}

fn to_credentials(kuid: &str, stored: &StoredCredentials) -> Result<StrategyCredentials, ApiError> {
    if stored.subject.is_empty() {
        return Err(ApiError::new(
            ErrorId::PluginStrategyInvalidKuid,
            "The strategy returned credentials with an empty subject: fix the plugin.",
        ));
    }
    Ok(StrategyCredentials {
        kuid: kuid.to_owned(),
        subject: stored.subject.clone(),
        document: Value::Object(parse_object(&stored.document, "credentials document")?),
    })
}

/// Parses a JSON object that a strategy returned; an empty string is the empty object.
fn parse_object(text: &str, what: &str) -> Result<Map<String, Value>, ApiError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(ApiError::new(
            ErrorId::PluginStrategyInvalidVerifyReturn,
            format!("The strategy returned a {what} that is not a JSON object: fix the plugin."),
        )
        .with_props([what])),
    }
}

/// Builds the 401 of a rejected login, the same error as a wrong password with `local`.
fn missing_user() -> ApiError {
    from_security(palisade_security::SecurityError::WrongCredentials)
}
