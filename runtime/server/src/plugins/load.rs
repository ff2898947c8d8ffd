//! Loading one plugin file: compile, initialize, and check its manifest.

use std::path::Path;
use std::sync::Arc;

use palisade_plugins::{HostServices, Manifest, PluginHost};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::set::LoadedPlugin;
use super::settings::{PluginSettings, file_stem};
use crate::config::PluginsSettings;

/// HTTP verbs a plugin route may use.
const ROUTE_VERBS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Compiles `bytes`, calls `init` with the plugin's `settings` and checks the manifest it returns.
/// Blocking: compiling a large component takes seconds.
///
/// # Errors
///
/// A message naming the file and what to fix.
pub fn load(
    host: &PluginHost,
    path: &Path,
    bytes: &[u8],
    common: &PluginsSettings,
    settings: PluginSettings,
    services: Arc<dyn HostServices>,
) -> Result<LoadedPlugin, String> {
    let stem = file_stem(path);
    let limits = settings.limits(common)?;
    let plugin = host
        .load(&stem, bytes)
        .map_err(|error| error.to_string())?
        .with_limits(limits.max_memory_bytes, limits.call_timeout)
        .with_services(services);

    let config = Value::Object(settings.settings.clone()).to_string();
    let manifest = plugin
        .init(&config)
        .map_err(|error| error.to_string())?
        .map_err(|error| {
            format!(
                "init returned {} ({}): {}",
                error.id, error.status, error.message
            )
        })?;
    check_manifest(&manifest)?;

    Ok(LoadedPlugin {
        name: manifest.name.clone(),
        file: path.to_owned(),
        hash: hex::encode(Sha256::digest(bytes)),
        compiled_from_cache: plugin.compiled_from_cache(),
        manifest,
        plugin,
        settings,
        loaded_at: super::now_ms(),
    })
}

/// Checks the names a manifest declares.
///
/// # Errors
///
/// A message naming the bad name and the rule it breaks.
pub fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    let plugin_name_ok = !manifest.name.is_empty()
        && manifest
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !plugin_name_ok {
        return Err(format!(
            "invalid plugin name \"{}\": use lower-case letters, digits, '-' and '_'",
            manifest.name
        ));
    }
    for controller in &manifest.controllers {
        check_identifier("controller", &controller.name)?;
        if controller.actions.is_empty() {
            return Err(format!(
                "controller \"{}\" declares no action",
                controller.name
            ));
        }
        for action in &controller.actions {
            check_identifier("action", &action.name)?;
            for route in &action.http {
                let verb = route.verb.to_ascii_uppercase();
                if !ROUTE_VERBS.contains(&verb.as_str()) {
                    return Err(format!(
                        "route {} {} of action \"{}\": unsupported verb, use one of {}",
                        route.verb,
                        route.path,
                        action.name,
                        ROUTE_VERBS.join(", ")
                    ));
                }
            }
        }
    }
    for strategy in &manifest.strategies {
        let name_ok = !strategy.name.is_empty()
            && strategy
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!(
                "invalid strategy name \"{}\": use letters, digits, '-' and '_'",
                strategy.name
            ));
        }
    }
    for event in manifest.pipes.iter().chain(&manifest.hooks) {
        let event_ok = !event.is_empty()
            && event
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '*' | '_' | '-' | '/'));
        if !event_ok {
            return Err(format!(
                "invalid event name \"{event}\": use names such as \"document:beforeCreate\" or \
                 \"generic:document:*\""
            ));
        }
    }
    Ok(())
}

/// Checks a controller or action name: camelCase, starting with a letter.
fn check_identifier(what: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        return Ok(());
    }
    Err(format!(
        "invalid {what} name \"{name}\": use camelCase letters and digits, starting with a letter"
    ))
}
