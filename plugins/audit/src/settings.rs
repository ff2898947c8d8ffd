//! The plugin's settings: `{"index": "<audit index>"}`, all optional.

use palisade_plugin_sdk::{ApiError, Value};

/// Index of the audit entries when the settings name none.
pub const DEFAULT_INDEX: &str = "audit";

/// The parsed settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Index of the audit collection.
    pub index: String,
}

impl Settings {
    /// Reads the settings that `init` receives.
    ///
    /// # Errors
    ///
    /// A 400 `plugin.config.invalid` error when `index` is not a non-empty string, or names
    /// another index than the default.
    pub fn from_init(settings: &Value) -> Result<Self, ApiError> {
        let index = match settings.get("index") {
            None | Some(Value::Null) => DEFAULT_INDEX,
            Some(Value::String(index)) if !index.is_empty() => index,
            Some(_) => {
                return Err(invalid_setting(
                    "\"index\" must be a non-empty string.",
                    "index",
                ));
            }
        };

        // NOTE: the host runs every call in a fresh instance and passes the settings only to
        // `init`, so hooks cannot see a configured index. Until the WIT gives every call its
        // settings, only the default index is accepted, rather than creating one index in `init`
        // and writing to another from the hooks.
        if index != DEFAULT_INDEX {
            return Err(invalid_setting(
                &format!(
                    "\"index\": \"{index}\" is not supported yet: the audit plugin can only write \
                     to \"{DEFAULT_INDEX}\", because its hooks do not receive the settings."
                ),
                index,
            ));
        }
        Ok(Self::for_calls())
    }

    /// Returns the settings that hooks use; see the note in [`Settings::from_init`].
    pub fn for_calls() -> Self {
        Self {
            index: DEFAULT_INDEX.to_owned(),
        }
    }
}

fn invalid_setting(message: &str, value: &str) -> ApiError {
    ApiError::new(
        400,
        "plugin.config.invalid",
        format!("Invalid audit setting: {message}"),
    )
    .prop(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_plugin_sdk::json;

    #[test]
    fn default_index_without_settings() {
        let settings = Settings::from_init(&json!({})).expect("empty settings are valid");
        assert_eq!(settings.index, "audit");
    }

    #[test]
    fn default_index_accepted() {
        let settings = Settings::from_init(&json!({"index": "audit"})).expect("valid settings");
        assert_eq!(settings.index, "audit");
    }

    #[test]
    fn invalid_index_rejected() {
        for index in [json!(""), json!(42), json!(["audit"])] {
            let error = Settings::from_init(&json!({"index": index})).expect_err("invalid");
            assert_eq!(error.status, 400, "index {index}");
            assert_eq!(error.id, "plugin.config.invalid", "index {index}");
        }
    }

    #[test]
    fn other_index_rejected_for_now() {
        let error = Settings::from_init(&json!({"index": "history"})).expect_err("unsupported");
        assert_eq!(error.id, "plugin.config.invalid");
        assert_eq!(error.props, ["history"]);
    }
}
