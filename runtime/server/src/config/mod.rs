//! Server settings: defaults, then a TOML file, then `PALISADE_*` environment variables, then
//! command-line flags, each layer overriding the one before.
//!
//! Keys use Kuzzle's camelCase names (`limits.concurrentRequests`), so Kuzzle's documentation of
//! a limit applies here unchanged.

mod byte_size;
mod layers;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use byte_size::ByteSize;
pub use layers::{ConfigError, Overrides, load};

/// Every setting of the server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on.
    pub host: String,
    /// TCP port shared by HTTP and WebSocket.
    pub port: u16,
    /// Folder holding the embedded database.
    pub data_dir: PathBuf,
    /// Folder watched for WebAssembly plugins.
    pub plugins_dir: PathBuf,
    /// Anti-overload and anti-abuse limits.
    pub limits: Limits,
    /// Settings shared by every protocol.
    pub server: ServerSettings,
    /// HTTP protocol settings.
    pub http: HttpSettings,
    /// WebSocket protocol settings.
    pub websocket: WebSocketSettings,
    /// Token and API key settings.
    pub security: SecuritySettings,
    /// WebAssembly plugin settings.
    pub plugins: PluginsSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 7512,
            data_dir: PathBuf::from("./data"),
            plugins_dir: PathBuf::from("./plugins"),
            limits: Limits::default(),
            server: ServerSettings::default(),
            http: HttpSettings::default(),
            websocket: WebSocketSettings::default(),
            security: SecuritySettings::default(),
            plugins: PluginsSettings::default(),
        }
    }
}

/// Kuzzle's `limits` section, with Kuzzle's code defaults.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Limits {
    /// Requests executed at the same time; more wait in the buffer.
    pub concurrent_requests: usize,
    /// Requests waiting for execution; beyond it clients get 503 `api.process.overloaded`.
    pub requests_buffer_size: usize,
    /// Number of waiting requests above which a warning is logged.
    pub requests_buffer_warning_threshold: usize,
    /// Maximum documents returned by one search page, mGet or mExists.
    pub documents_fetch_count: usize,
    /// Maximum documents written by one m* or bulk action.
    pub documents_write_count: usize,
    /// `auth:login` calls per connection per second.
    pub logins_per_second: u32,
    /// Maximum conditions in one realtime filter after normalization.
    pub subscription_conditions_count: usize,
    /// Kept for configuration compatibility with Kuzzle, which validates but does not use it.
    pub subscription_minterms: usize,
    /// Maximum distinct realtime rooms on one node (0 = unlimited).
    pub subscription_rooms: usize,
    /// Milliseconds a document's matched rooms are remembered for `out` notifications
    /// (0 = forever).
    pub subscription_document_ttl: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            concurrent_requests: 100,
            requests_buffer_size: 50_000,
            requests_buffer_warning_threshold: 5_000,
            documents_fetch_count: 10_000,
            documents_write_count: 200,
            logins_per_second: 1,
            subscription_conditions_count: 100,
            subscription_minterms: 0,
            subscription_rooms: 1_000_000,
            subscription_document_ttl: 259_200_000,
        }
    }
}

/// Kuzzle's `server` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Largest request accepted, over HTTP (body) and WebSocket (frame), such as `"1MB"`.
    pub max_request_size: ByteSize,
    /// Whether requests from SDKs older than the supported major versions are rejected.
    pub strict_sdk_version: bool,
    /// Milliseconds given to in-flight requests to finish on shutdown.
    pub shutdown_timeout: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_request_size: ByteSize::mebibytes(1),
            strict_sdk_version: true,
            shutdown_timeout: 10_000,
        }
    }
}

/// Kuzzle's `server.protocols.http` and `http` sections.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Whether the `authToken` cookie authenticates requests.
    pub cookie_authentication: bool,
    /// Whether gzip and deflate request and response bodies are accepted.
    pub allow_compression: bool,
    /// Maximum number of `Content-Encoding` layers on one request body.
    pub max_encoding_layers: usize,
    /// Largest file accepted in a `multipart/form-data` body, such as `"1MB"`.
    pub max_form_file_size: ByteSize,
    /// Origins allowed by CORS; `*` allows any origin and echoes it back.
    pub access_control_allow_origin: Vec<String>,
    /// Methods listed in CORS responses.
    pub access_control_allow_methods: String,
    /// Headers listed in CORS responses.
    pub access_control_allow_headers: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            cookie_authentication: true,
            allow_compression: true,
            max_encoding_layers: 3,
            max_form_file_size: ByteSize::mebibytes(1),
            access_control_allow_origin: vec!["*".into()],
            access_control_allow_methods: "GET,POST,PUT,PATCH,DELETE,OPTIONS,HEAD".into(),
            access_control_allow_headers: "Content-Type, Access-Control-Allow-Headers, \
                                           Authorization, X-Requested-With, Content-Length, \
                                           Content-Encoding, X-Kuzzle-Volatile, \
                                           X-Kuzzle-Request-Id"
                .into(),
        }
    }
}

/// Kuzzle's `server.protocols.websocket` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct WebSocketSettings {
    /// Whether WebSocket connections are accepted.
    pub enabled: bool,
    /// Milliseconds without any message from a client before its socket is closed (minimum 1000).
    pub idle_timeout: u64,
    /// Messages accepted per socket per second (0 = unlimited).
    pub rate_limit: u32,
    /// Messages queued for a socket that does not read before it is closed with code 1011.
    pub max_backpressure: usize,
}

impl Default for WebSocketSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            idle_timeout: 60_000,
            rate_limit: 0,
            max_backpressure: 1024,
        }
    }
}

/// The `plugins` section: limits shared by every plugin, and each plugin's own settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PluginsSettings {
    /// Plugin instances alive at once, over all plugins; each call runs in its own instance.
    pub max_instances: u32,
    /// Linear memory of one instance, such as `"64MB"`: the default of every plugin and the
    /// maximum a plugin's own `memoryLimit` may ask for.
    pub memory_limit: ByteSize,
    /// Milliseconds one plugin call may run, unless the plugin's settings set another value.
    pub call_timeout: u64,
    /// Milliseconds between two scans of the plugins folder for changed files (0 = no watching).
    pub watch_interval: u64,
    /// Folder of the compiled-code cache; empty means `<dataDir>/plugins-cache`.
    pub cache_dir: PathBuf,
    /// Settings of each plugin, by file name without `.wasm`, in the form of the `<name>.toml`
    /// file beside the plugin. A key here replaces the same top-level key of that file.
    pub config: std::collections::BTreeMap<String, toml::Value>,
}

impl Default for PluginsSettings {
    fn default() -> Self {
        Self {
            max_instances: 200,
            memory_limit: ByteSize::mebibytes(64),
            call_timeout: 5_000,
            watch_interval: 50,
            cache_dir: PathBuf::new(),
            config: std::collections::BTreeMap::new(),
        }
    }
}

/// Kuzzle's `security` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// Authentication tokens (`auth:login`, `auth:createToken`, `auth:refreshToken`).
    pub auth_token: AuthTokenSettings,
    /// API keys (`auth:createApiKey`, `security:createApiKey`).
    pub api_key: ApiKeySettings,
    /// Profiles given to the users of `security:createRestrictedUser`.
    pub restricted_profile_ids: Vec<String>,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            auth_token: AuthTokenSettings::default(),
            api_key: ApiKeySettings::default(),
            restricted_profile_ids: vec!["default".into()],
        }
    }
}

/// Kuzzle's `security.authToken` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AuthTokenSettings {
    /// Lifetime of a token when the request gives no `expiresIn`: a duration such as `"1h"`, or
    /// milliseconds.
    pub expires_in: String,
    /// Maximum lifetime of a token in milliseconds; -1 is unlimited.
    #[serde(rename = "maxTTL")]
    pub max_ttl: i64,
    /// Milliseconds a token stays valid after `auth:refreshToken` replaced it.
    pub grace_period: u64,
    /// HS256 signing secret. Empty generates a random secret at first start and stores it in
    /// the data folder, so tokens survive a restart.
    pub secret: String,
}

impl Default for AuthTokenSettings {
    fn default() -> Self {
        Self {
            expires_in: "1h".into(),
            max_ttl: -1,
            grace_period: 1000,
            secret: String::new(),
        }
    }
}

/// Kuzzle's `security.apiKey` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiKeySettings {
    /// Maximum lifetime of an API key in milliseconds; -1 is unlimited.
    #[serde(rename = "maxTTL")]
    pub max_ttl: i64,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self { max_ttl: -1 }
    }
}

impl Config {
    /// The address to bind, as `host:port`.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Checks values that the types alone cannot.
    ///
    /// # Errors
    ///
    /// A [`ConfigError::Invalid`] naming the setting and the accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks = [
            (
                self.limits.concurrent_requests >= 1,
                "limits.concurrentRequests",
                "at least 1",
            ),
            (
                self.limits.requests_buffer_size >= 1,
                "limits.requestsBufferSize",
                "at least 1",
            ),
            (
                self.limits.documents_fetch_count >= 1,
                "limits.documentsFetchCount",
                "at least 1",
            ),
            (
                self.limits.documents_write_count >= 1,
                "limits.documentsWriteCount",
                "at least 1",
            ),
            (
                self.websocket.idle_timeout >= 1000,
                "websocket.idleTimeout",
                "at least 1000 ms",
            ),
            (
                self.websocket.max_backpressure >= 1,
                "websocket.maxBackpressure",
                "at least 1",
            ),
            (
                self.server.max_request_size.bytes() >= 1,
                "server.maxRequestSize",
                "at least 1B",
            ),
        ];
        for (ok, setting, range) in checks {
            if !ok {
                return Err(ConfigError::Invalid {
                    setting: setting.into(),
                    expected: range.into(),
                });
            }
        }
        Ok(())
    }
}
