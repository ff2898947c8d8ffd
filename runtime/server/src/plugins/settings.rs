//! The settings of one plugin: `<name>.toml` beside its `.wasm` file, overlaid with the main
//! configuration's `plugins.config.<name>` table.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::tcp::TcpGrant;
use super::tls::TlsGrant;
use crate::config::{ByteSize, PluginsSettings};

/// The capabilities the operator grants one plugin, and the settings passed to its `init`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PluginSettings {
    /// Linear memory of one instance; at most `plugins.memoryLimit`.
    pub memory_limit: Option<ByteSize>,
    /// Milliseconds one call may run.
    pub call_timeout: Option<u64>,
    /// The plugin's own identity for `api.call`.
    pub identity: IdentityGrant,
    /// Outbound HTTP.
    pub http: HttpGrant,
    /// Outbound TCP connections.
    pub tcp: TcpGrant,
    /// Extra trusted root certificates for HTTPS and TCP over TLS.
    pub tls: TlsGrant,
    /// Users created on their first login through one of the plugin's strategies.
    pub provisioning: Provisioning,
    /// The JSON object passed to the plugin's `init`.
    pub settings: Map<String, Value>,
}

/// The rights of a plugin's own API calls: those of these profiles. Without profiles, a call as
/// the plugin gets the anonymous profile's rights.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct IdentityGrant {
    /// Profile ids, such as `["admin"]`.
    pub profiles: Vec<String>,
}

/// The destinations a plugin may send HTTP requests to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct HttpGrant {
    /// `host:port` pairs, or `host` alone for the scheme's default port.
    pub allowed_hosts: Vec<String>,
    /// Milliseconds an outbound request may take, at most.
    pub timeout: u64,
}

impl Default for HttpGrant {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            timeout: 10_000,
        }
    }
}

/// Whether a login through the plugin's strategies creates the user it does not know yet, and
/// with which profiles.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Provisioning {
    /// Creates unknown users on their first login; without it, such a login gets a 401.
    pub enabled: bool,
    /// Profiles of a created user when the strategy maps none from the provider's data.
    pub profiles: Vec<String>,
}

impl Default for Provisioning {
    fn default() -> Self {
        Self {
            enabled: false,
            profiles: vec!["default".to_owned()],
        }
    }
}

/// The resolved limits of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// Bytes of linear memory of one instance.
    pub max_memory_bytes: usize,
    /// Run time of one call.
    pub call_timeout: Duration,
}

impl PluginSettings {
    /// Reads the settings of the plugin file `wasm_path`: its `<stem>.toml` when present, with
    /// the keys of `plugins.config.<stem>` replacing the file's.
    ///
    /// # Errors
    ///
    /// A message naming the file and the bad key or value.
    pub fn read(wasm_path: &Path, common: &PluginsSettings) -> Result<Self, String> {
        let stem = file_stem(wasm_path);
        let toml_path = wasm_path.with_extension("toml");
        let mut table = match std::fs::read_to_string(&toml_path) {
            Ok(text) => text
                .parse::<toml::Table>()
                .map_err(|error| format!("{}: {error}", toml_path.display()))?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(error) => return Err(format!("cannot read {}: {error}", toml_path.display())),
        };
        if let Some(overlay) = common.config.get(&stem) {
            let toml::Value::Table(overlay) = overlay else {
                return Err(format!("plugins.config.{stem} must be a table"));
            };
            table.extend(overlay.clone());
        }

        toml::Value::Table(table)
            .try_into::<Self>()
            .map_err(|error| format!("settings of plugin file {stem}.wasm: {error}"))
    }

    /// Resolves the limits against the server-wide ones.
    ///
    /// # Errors
    ///
    /// A message when the plugin requests more memory than `plugins.memoryLimit`.
    pub fn limits(&self, common: &PluginsSettings) -> Result<PluginLimits, String> {
        let maximum = common.memory_limit;
        let memory = self.memory_limit.unwrap_or(maximum);
        if memory > maximum {
            return Err(format!(
                "memoryLimit {memory} is above plugins.memoryLimit ({maximum}): lower it, or \
                 raise plugins.memoryLimit in the server configuration"
            ));
        }
        let timeout = self.call_timeout.unwrap_or(common.call_timeout);
        if timeout == 0 {
            return Err("callTimeout must be at least 1 ms".to_owned());
        }
        Ok(PluginLimits {
            max_memory_bytes: memory.as_usize(),
            call_timeout: Duration::from_millis(timeout),
        })
    }
}

/// Returns the file name of a plugin without its extension.
pub fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_config_keys_replace_the_file_keys() {
        let folder = tempfile::tempdir().unwrap();
        let wasm = folder.path().join("audit.wasm");
        std::fs::write(
            folder.path().join("audit.toml"),
            "callTimeout = 100\n[settings]\nindex = \"a\"\n[identity]\nprofiles = [\"admin\"]\n",
        )
        .unwrap();
        let mut common = PluginsSettings::default();
        common.config.insert(
            "audit".to_owned(),
            toml::toml! { [settings]
            index = "b" }
            .into(),
        );

        let settings = PluginSettings::read(&wasm, &common).unwrap();
        assert_eq!(settings.settings["index"], "b");
        assert_eq!(settings.call_timeout, Some(100));
        assert_eq!(settings.identity.profiles, ["admin"]);
    }

    #[test]
    fn unknown_keys_and_excess_memory_are_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let wasm = folder.path().join("p.wasm");
        std::fs::write(folder.path().join("p.toml"), "memory = 1\n").unwrap();
        let common = PluginsSettings::default();
        let error = PluginSettings::read(&wasm, &common).unwrap_err();
        assert!(error.contains("memory"), "{error}");

        let settings = PluginSettings {
            memory_limit: Some(ByteSize::mebibytes(1024)),
            ..PluginSettings::default()
        };
        assert!(
            settings
                .limits(&common)
                .unwrap_err()
                .contains("plugins.memoryLimit")
        );
    }
}
