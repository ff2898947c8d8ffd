//! Merges the configuration layers: defaults, TOML file, environment, command-line flags.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::Config;

/// Prefix of the environment variables read as settings.
const ENV_PREFIX: &str = "PALISADE_";

/// Variables with the prefix that are not settings: logging, and the binary and built plugins
/// the test suites use.
const NON_SETTING_VARIABLES: [&str; 4] = [
    "PALISADE_LOG",
    "PALISADE_LOG_FORMAT",
    "PALISADE_BIN",
    "PALISADE_PLUGINS_BUILD_DIR",
];

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file or the merged settings are not valid.
    #[error("invalid configuration{}: {message}", path.as_ref().map(|p| format!(" in `{}`", p.display())).unwrap_or_default())]
    Parse {
        /// The file, when the error comes from it.
        path: Option<PathBuf>,
        /// What is wrong, from the TOML parser or the settings' types.
        message: String,
    },
    /// An environment variable names no setting.
    #[error(
        "environment variable `{name}` matches no setting: use PALISADE_<SECTION>__<KEY>, \
         such as PALISADE_LIMITS__CONCURRENT_REQUESTS"
    )]
    UnknownVariable {
        /// The variable.
        name: String,
    },
    /// An environment variable contains a value of the wrong type.
    #[error("environment variable `{name}` has value `{value}`, expected {expected}")]
    VariableValue {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// The expected type.
        expected: &'static str,
    },
    /// A setting is outside its accepted range.
    #[error("setting `{setting}` must be {expected}")]
    Invalid {
        /// The setting, as a dotted path.
        setting: String,
        /// The accepted range.
        expected: String,
    },
}

/// Settings given as command-line flags, which override every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--plugins-dir`.
    pub plugins_dir: Option<PathBuf>,
}

/// Loads the configuration: defaults, then `file`, then `PALISADE_*` variables, then flags.
///
/// # Errors
///
/// A [`ConfigError`] naming the file, variable or setting at fault.
pub fn load(
    file: Option<&Path>,
    variables: impl IntoIterator<Item = (String, String)>,
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    let mut settings = defaults();

    if let Some(path) = file {
        merge(&mut settings, read_file(path)?);
    }
    for (name, value) in variables {
        if name.starts_with(ENV_PREFIX) && !NON_SETTING_VARIABLES.contains(&name.as_str()) {
            apply_variable(&mut settings, &name, &value)?;
        }
    }

    let mut config: Config = Value::Table(settings)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: file.map(Path::to_path_buf),
            message: e.to_string(),
        })?;

    apply_overrides(&mut config, overrides);
    config.validate()?;
    Ok(config)
}

fn defaults() -> Table {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(table)) => table,
        _ => unreachable!("the default configuration serializes to a TOML table"),
    }
}

fn read_file(path: &Path) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        path: Some(path.to_path_buf()),
        message: e.to_string(),
    })
}

/// Merges `layer` into `base`, key by key, descending into tables.
fn merge(base: &mut Table, layer: Table) {
    for (key, value) in layer {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(nested)) => merge(existing, nested),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Sets the setting named by `PALISADE_SECTION__KEY`, matching names without case or `_`, so
/// `PALISADE_LIMITS__CONCURRENT_REQUESTS` sets `limits.concurrentRequests`.
fn apply_variable(settings: &mut Table, name: &str, raw: &str) -> Result<(), ConfigError> {
    let unknown = || ConfigError::UnknownVariable {
        name: name.to_owned(),
    };
    let segments: Vec<&str> = name[ENV_PREFIX.len()..].split("__").collect();
    let (last, parents) = segments.split_last().ok_or_else(unknown)?;

    let mut table = settings;
    for segment in parents {
        let key = find_key(table, segment).ok_or_else(unknown)?;
        table = match table.get_mut(&key) {
            Some(Value::Table(nested)) => nested,
            _ => return Err(unknown()),
        };
    }

    let key = find_key(table, last).ok_or_else(unknown)?;
    let value = parse_like(&table[&key], raw).map_err(|expected| ConfigError::VariableValue {
        name: name.to_owned(),
        value: raw.to_owned(),
        expected,
    })?;
    table.insert(key, value);
    Ok(())
}

fn find_key(table: &Table, segment: &str) -> Option<String> {
    let wanted = normalize(segment);
    table.keys().find(|key| normalize(key) == wanted).cloned()
}

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses `raw` into the type of the setting's current value.
fn parse_like(current: &Value, raw: &str) -> Result<Value, &'static str> {
    match current {
        Value::Integer(_) => raw
            .trim()
            .parse()
            .map(Value::Integer)
            .map_err(|_| "an integer"),
        Value::Float(_) => raw.trim().parse().map(Value::Float).map_err(|_| "a number"),
        Value::Boolean(_) => raw
            .trim()
            .parse()
            .map(Value::Boolean)
            .map_err(|_| "true or false"),
        Value::Array(_) => Ok(Value::Array(
            raw.split(',')
                .map(|item| Value::String(item.trim().into()))
                .collect(),
        )),
        Value::Table(_) => Err("a section, which takes one variable per key"),
        _ => Ok(Value::String(raw.to_owned())),
    }
}

fn apply_overrides(config: &mut Config, overrides: Overrides) {
    if let Some(host) = overrides.host {
        config.host = host;
    }
    if let Some(port) = overrides.port {
        config.port = port;
    }
    if let Some(data_dir) = overrides.data_dir {
        config.data_dir = data_dir;
    }
    if let Some(plugins_dir) = overrides.plugins_dir {
        config.plugins_dir = plugins_dir;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_match_kuzzle() {
        let config = load(None, vec![], Overrides::default()).unwrap();
        assert_eq!(config.port, 7512);
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.limits.concurrent_requests, 100);
        assert_eq!(config.limits.requests_buffer_size, 50_000);
        assert_eq!(config.server.max_request_size.bytes(), 1 << 20);
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "port = 1000\nhost = \"0.0.0.0\"\n[limits]\nconcurrentRequests = 7"
        )
        .unwrap();

        let env = vars(&[
            ("PALISADE_PORT", "2000"),
            ("PALISADE_LIMITS__CONCURRENT_REQUESTS", "9"),
        ]);
        let flags = Overrides {
            port: Some(3000),
            ..Overrides::default()
        };
        let config = load(Some(file.path()), env.clone(), flags).unwrap();
        assert_eq!(config.port, 3000);
        assert_eq!(config.host, "0.0.0.0");
        assert_eq!(config.limits.concurrent_requests, 9);

        let config = load(Some(file.path()), env, Overrides::default()).unwrap();
        assert_eq!(config.port, 2000);
    }

    #[test]
    fn unknown_variable_is_named() {
        let error = load(None, vars(&[("PALISADE_NOPE", "1")]), Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("PALISADE_NOPE"), "{error}");
    }

    #[test]
    fn mistyped_variable_is_named() {
        let env = vars(&[("PALISADE_LIMITS__CONCURRENTREQUESTS", "many")]);
        let error = load(None, env, Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("an integer"), "{error}");
    }

    #[test]
    fn unknown_file_key_is_rejected() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "[limits]\nconcurentRequests = 7").unwrap();
        let error = load(Some(file.path()), vec![], Overrides::default()).unwrap_err();
        assert!(error.to_string().contains("concurentRequests"), "{error}");
    }

    #[test]
    fn out_of_range_setting_is_rejected() {
        let env = vars(&[("PALISADE_WEBSOCKET__IDLE_TIMEOUT", "10")]);
        let error = load(None, env, Overrides::default()).unwrap_err();
        assert!(
            error.to_string().contains("websocket.idleTimeout"),
            "{error}"
        );
    }

    #[test]
    fn sizes_accept_strings_from_env() {
        let env = vars(&[("PALISADE_SERVER__MAX_REQUEST_SIZE", "2MB")]);
        let config = load(None, env, Overrides::default()).unwrap();
        assert_eq!(config.server.max_request_size.bytes(), 2 << 20);
    }
}
