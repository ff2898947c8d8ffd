//! `admin:dump`: a snapshot of this node's state in a folder of the data folder, for diagnosis.

use std::path::PathBuf;

use palisade_api::{ApiError, ApiResult, ErrorId, Request};
use serde_json::{Value, json};

use super::server;
use crate::state::ServerState;

/// Writes `<dataDir>/dumps/<milliseconds>[-<suffix>]/` with the effective configuration (secrets
/// removed), `server:info` with the plugins and their load errors, the Prometheus metrics, the
/// realtime rooms and the indexes with their collections.
///
/// # Errors
///
/// `api.assert.invalid_argument` for a `suffix` that is not a plain name, or
/// `core.fatal.unexpected_error` when a file cannot be written.
pub async fn dump(state: &ServerState, request: &Request) -> ApiResult {
    let folder = dump_folder(state, request.optional_string("suffix")?)?;
    let files = [
        ("config.json", server::redacted_config(state)?),
        ("server-info.json", server::info(state)),
        (
            "realtime-rooms.json",
            json!(state.realtime.read(|registry| registry.list())),
        ),
        ("indexes.json", indexes(state).await?),
    ];

    let write_error = |error: std::io::Error| {
        ApiError::new(
            ErrorId::CoreFatalUnexpectedError,
            format!("Cannot write the dump into {}: {error}", folder.display()),
        )
    };
    std::fs::create_dir_all(&folder).map_err(write_error)?;
    for (name, value) in files {
        let text = serde_json::to_string_pretty(&value).map_err(ApiError::internal)?;
        std::fs::write(folder.join(name), text).map_err(write_error)?;
    }
    let metrics = state.metrics.render(state.funnel.waiting());
    std::fs::write(folder.join("metrics.txt"), metrics).map_err(write_error)?;

    tracing::info!(folder = %folder.display(), "dump written");
    Ok(json!({"acknowledge": true, "path": folder.display().to_string()}).into())
}

fn dump_folder(state: &ServerState, suffix: Option<&str>) -> Result<PathBuf, ApiError> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let name = match suffix {
        None | Some("") => millis.to_string(),
        Some(suffix) => {
            let plain = suffix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !plain || suffix.len() > 64 {
                return Err(ApiError::invalid_argument(
                    "suffix",
                    "at most 64 letters, digits, '-' or '_'",
                ));
            }
            format!("{millis}-{suffix}")
        }
    };
    Ok(state.config.data_dir.join("dumps").join(name))
}

async fn indexes(state: &ServerState) -> Result<Value, ApiError> {
    let mut listed = serde_json::Map::new();
    let indexes = state
        .storage
        .list_indexes()
        .await
        .map_err(crate::errors::from_storage)?;
    for index in indexes {
        let collections = state
            .storage
            .list_collections(&index)
            .await
            .map_err(crate::errors::from_storage)?;
        listed.insert(index, json!(collections));
    }
    Ok(Value::Object(listed))
}
