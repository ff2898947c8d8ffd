//! Maps the library crates' errors to API errors. Each library error names its catalogue id and
//! the values its message names, so one generic conversion serves them all.

use palisade_api::ApiError;

/// Converts a storage error into the API error it names.
pub fn from_storage(error: palisade_storage::StorageError) -> ApiError {
    ApiError::from_name(error.kuzzle_id(), error.to_string()).with_props(error.props())
}

/// Converts a security error into the API error it names.
pub fn from_security(error: palisade_security::SecurityError) -> ApiError {
    ApiError::from_name(error.kuzzle_id(), error.to_string()).with_props(error.props())
}

/// Converts a realtime error into the API error it names.
pub fn from_realtime(error: palisade_realtime::RealtimeError) -> ApiError {
    ApiError::from_name(error.kuzzle_id(), error.to_string())
}
