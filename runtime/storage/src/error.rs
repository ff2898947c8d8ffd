//! The storage error: one enum for the crate, each variant mapped to a Kuzzle catalogue id.

/// A failed storage operation.
///
/// [`StorageError::kuzzle_id`] gives the catalogue id the server reports and
/// [`StorageError::props`] the values that the message names, in order, so the server maps every
/// variant the same way.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An index name breaks the naming rules.
    #[error("invalid index name `{name}`: {reason}")]
    InvalidIndexName { name: String, reason: &'static str },

    /// A collection name breaks the naming rules.
    #[error("invalid collection name `{name}`: {reason}")]
    InvalidCollectionName { name: String, reason: &'static str },

    /// The index already exists.
    #[error("index `{index}` already exists")]
    IndexAlreadyExists { index: String },

    /// The index does not exist.
    #[error("index `{index}` does not exist")]
    UnknownIndex { index: String },

    /// The collection does not exist in an existing index.
    #[error("collection `{index}`:`{collection}` does not exist")]
    UnknownCollection { index: String, collection: String },

    /// No document has this id.
    #[error("document `{id}` not found in `{index}`:`{collection}`")]
    NotFound {
        id: String,
        index: String,
        collection: String,
    },

    /// A document with this id already exists.
    #[error("document `{id}` already exists in `{index}`:`{collection}`")]
    DocumentAlreadyExists {
        id: String,
        index: String,
        collection: String,
    },

    /// A field is not in a `strict` mapping.
    #[error(
        "field `{field}` is not in the strict mapping of `{index}`:`{collection}`; \
         add it with updateMapping first"
    )]
    StrictMappingRejection {
        field: String,
        index: String,
        collection: String,
    },

    /// A value does not fit the type its field is mapped to.
    #[error("field `{field}` is mapped as `{expected}` but the value {value} is not one")]
    FieldTypeMismatch {
        field: String,
        expected: &'static str,
        value: String,
    },

    /// A mapping is malformed.
    #[error("invalid mapping at `{path}`: {reason}")]
    InvalidMapping { path: String, reason: String },

    /// A mapping names a type this engine does not know.
    #[error("field `{field}` has unknown mapping type `{type_name}`")]
    InvalidMappingType { field: String, type_name: String },

    /// A mapping update tries to change the type of an existing field.
    #[error("field `{field}` is mapped as `{from}` and cannot become `{to}`")]
    CannotChangeMapping {
        field: String,
        from: String,
        to: String,
    },

    /// A search body uses a clause or option this engine does not support.
    #[error("`{keyword}` is not supported by this storage engine")]
    UnknownQueryKeyword { keyword: String },

    /// A search body uses a forbidden keyword, such as a script.
    #[error("the `{keyword}` keyword is not allowed")]
    InvalidQueryKeyword { keyword: String },

    /// A search body is malformed.
    #[error("invalid search query: {reason}")]
    InvalidSearchQuery { reason: String },

    /// An argument has an invalid value.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument { name: String, reason: String },

    /// The scroll id is unknown or expired.
    #[error("scroll id `{scroll_id}` is unknown or expired")]
    UnknownScrollId { scroll_id: String },

    /// A scroll TTL is above the maximum.
    #[error("scroll duration {requested_ms} ms is above the maximum of {max_ms} ms")]
    ScrollDurationTooGreat { requested_ms: u64, max_ms: u64 },

    /// A search requests more documents than the fetch limit.
    #[error("search asks for {requested} documents, above the limit of {limit}")]
    GetLimitExceeded { requested: u64, limit: u64 },

    /// A Koncorde filter uses a keyword that has no Elasticsearch translation.
    #[error("the Koncorde keyword `{keyword}` cannot be used in a storage query")]
    KoncordeRestrictedKeyword { keyword: String },

    /// A Koncorde filter is malformed.
    #[error("invalid Koncorde filter: {reason}")]
    KoncordeDslError { reason: String },

    /// The engine failed: disk, database or index error.
    #[error("storage engine failure: {reason}")]
    Internal { reason: String },
}

impl StorageError {
    /// Returns the Kuzzle error catalogue id of this error.
    pub fn kuzzle_id(&self) -> &'static str {
        match self {
            Self::InvalidIndexName { .. } => "services.storage.invalid_index_name",
            Self::InvalidCollectionName { .. } => "services.storage.invalid_collection_name",
            Self::IndexAlreadyExists { .. } => "services.storage.index_already_exists",
            Self::UnknownIndex { .. } => "services.storage.unknown_index",
            Self::UnknownCollection { .. } => "services.storage.unknown_collection",
            Self::NotFound { .. } => "services.storage.not_found",
            Self::DocumentAlreadyExists { .. } => "services.storage.document_already_exists",
            Self::StrictMappingRejection { .. } => "services.storage.strict_mapping_rejection",
            Self::FieldTypeMismatch { .. } => "services.storage.invalid_mapping",
            Self::InvalidMapping { .. } => "services.storage.invalid_mapping",
            Self::InvalidMappingType { .. } => "services.storage.invalid_mapping_type",
            Self::CannotChangeMapping { .. } => "services.storage.cannot_change_mapping",
            Self::UnknownQueryKeyword { .. } => "services.storage.unknown_query_keyword",
            Self::InvalidQueryKeyword { .. } => "services.storage.invalid_query_keyword",
            Self::InvalidSearchQuery { .. } => "services.storage.invalid_search_query",
            Self::InvalidArgument { .. } => "services.storage.invalid_argument",
            Self::UnknownScrollId { .. } => "services.storage.unknown_scroll_id",
            Self::ScrollDurationTooGreat { .. } => "services.storage.scroll_duration_too_great",
            Self::GetLimitExceeded { .. } => "services.storage.get_limit_exceeded",
            Self::KoncordeRestrictedKeyword { .. } => "api.assert.koncorde_restricted_keyword",
            Self::KoncordeDslError { .. } => "api.assert.koncorde_dsl_error",
            Self::Internal { .. } => "services.storage.unexpected_error",
        }
    }

    /// Returns the values that the message names, in the order the message names them.
    pub fn props(&self) -> Vec<String> {
        match self {
            Self::InvalidIndexName { name, .. } | Self::InvalidCollectionName { name, .. } => {
                vec![name.clone()]
            }
            Self::IndexAlreadyExists { index } | Self::UnknownIndex { index } => {
                vec![index.clone()]
            }
            Self::UnknownCollection { index, collection } => {
                vec![index.clone(), collection.clone()]
            }
            Self::NotFound {
                id,
                index,
                collection,
            }
            | Self::DocumentAlreadyExists {
                id,
                index,
                collection,
            } => {
                vec![id.clone(), index.clone(), collection.clone()]
            }
            Self::StrictMappingRejection { field, .. } => vec![field.clone()],
            Self::FieldTypeMismatch {
                field,
                expected,
                value,
            } => {
                vec![field.clone(), (*expected).to_owned(), value.clone()]
            }
            Self::InvalidMapping { path, reason } => vec![path.clone(), reason.clone()],
            Self::InvalidMappingType { field, type_name } => vec![field.clone(), type_name.clone()],
            Self::CannotChangeMapping { field, from, to } => {
                vec![field.clone(), from.clone(), to.clone()]
            }
            Self::UnknownQueryKeyword { keyword }
            | Self::InvalidQueryKeyword { keyword }
            | Self::KoncordeRestrictedKeyword { keyword } => vec![keyword.clone()],
            Self::InvalidSearchQuery { reason }
            | Self::KoncordeDslError { reason }
            | Self::Internal { reason } => vec![reason.clone()],
            Self::InvalidArgument { name, reason } => vec![name.clone(), reason.clone()],
            Self::UnknownScrollId { scroll_id } => vec![scroll_id.clone()],
            Self::ScrollDurationTooGreat {
                requested_ms,
                max_ms,
            } => {
                vec![requested_ms.to_string(), max_ms.to_string()]
            }
            Self::GetLimitExceeded { requested, limit } => {
                vec![requested.to_string(), limit.to_string()]
            }
        }
    }

    /// Builds an [`StorageError::InvalidSearchQuery`] from a message.
    pub(crate) fn query(reason: impl Into<String>) -> Self {
        Self::InvalidSearchQuery {
            reason: reason.into(),
        }
    }

    /// Builds an [`StorageError::UnknownQueryKeyword`] naming the unsupported clause.
    pub(crate) fn unsupported(keyword: impl Into<String>) -> Self {
        Self::UnknownQueryKeyword {
            keyword: keyword.into(),
        }
    }

    /// Builds an [`StorageError::Internal`] from any engine error.
    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal {
            reason: error.to_string(),
        }
    }
}

/// The result type of every storage operation.
pub type Result<T> = std::result::Result<T, StorageError>;
