//! The storage error: one enum for the crate, each variant mapped to a Kuzzle catalogue id.

/// A failed storage operation.
///
/// [`StorageError::kuzzle_id`] gives the catalogue id the server reports and
/// [`StorageError::props`] the values of that id's message placeholders, in order. Messages
/// follow the text of Kuzzle's catalogue, so clients read the same errors as from Kuzzle.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An index name breaks the naming rules.
    #[error("The index name \"{name}\" is invalid: {reason}.")]
    InvalidIndexName { name: String, reason: &'static str },

    /// A collection name breaks the naming rules.
    #[error("The collection name \"{name}\" is invalid: {reason}.")]
    InvalidCollectionName { name: String, reason: &'static str },

    /// The index already exists.
    #[error("A {} index named \"{index}\" already exists.", index_scope(index))]
    IndexAlreadyExists { index: String },

    /// The index does not exist.
    #[error("The index \"{index}\" does not exist.")]
    UnknownIndex { index: String },

    /// The collection does not exist in an existing index.
    #[error("The collection \"{index}\":\"{collection}\" does not exist.")]
    UnknownCollection { index: String, collection: String },

    /// No document has this id.
    #[error("Document \"{id}\" not found in \"{index}\":\"{collection}\".")]
    NotFound {
        id: String,
        index: String,
        collection: String,
    },

    /// A document with this id already exists.
    #[error("Document already exists.")]
    DocumentAlreadyExists {
        id: String,
        index: String,
        collection: String,
    },

    /// A field is not in a `strict` mapping.
    #[error(
        "Cannot create document. Field \"{field}\" is not present in collection \
         \"{index}:{collection}\" strict mapping."
    )]
    StrictMappingRejection {
        field: String,
        index: String,
        collection: String,
    },

    /// A value does not fit the type its field is mapped to.
    #[error(
        "Invalid mapping property \"mappings.{field}\". The value {value} is not a valid {expected}."
    )]
    FieldTypeMismatch {
        field: String,
        expected: &'static str,
        value: String,
    },

    /// A mapping is malformed.
    #[error("Invalid mapping property \"mappings.{path}\". {reason}")]
    InvalidMapping { path: String, reason: String },

    /// A mapping names a type this engine does not know.
    #[error("Field \"{field}\": the data type \"{type_name}\" doesn't exist.")]
    InvalidMappingType { field: String, type_name: String },

    /// A mapping update tries to change the type of an existing field.
    #[error(
        "Field \"{field}\" already has a mapping, and it cannot be changed \
         (mapped as {from}, requested {to})."
    )]
    CannotChangeMapping {
        field: String,
        from: String,
        to: String,
    },

    /// A search body uses a clause or option this engine does not support.
    #[error("The keyword \"{keyword}\" is not supported by this storage engine.")]
    UnknownQueryKeyword { keyword: String },

    /// A search body uses a forbidden keyword, such as a script.
    #[error("The \"{keyword}\" keyword is not allowed in this query.")]
    InvalidQueryKeyword { keyword: String },

    /// A search body is malformed.
    #[error("Invalid search query: {reason}.")]
    InvalidSearchQuery { reason: String },

    /// An argument has an invalid value.
    #[error("Argument \"{name}\" is invalid (expected: {reason}).")]
    InvalidArgument { name: String, reason: String },

    /// The scroll id is unknown or expired.
    #[error("Non-existing or expired scroll identifier.")]
    UnknownScrollId { scroll_id: String },

    /// A scroll TTL is above the maximum.
    #[error("Scroll duration \"{requested_ms}ms\" is too great (maximum: {max_ms}ms).")]
    ScrollDurationTooGreat { requested_ms: u64, max_ms: u64 },

    /// A search requests more documents than the fetch limit.
    #[error(
        "The number of documents returned by this request exceeds the configured server limit \
         ({requested} requested, limit {limit})."
    )]
    GetLimitExceeded { requested: u64, limit: u64 },

    /// A Koncorde filter uses a keyword that has no Elasticsearch translation.
    #[error(
        "The {} \"{keyword}\" of Koncorde DSL is not supported for search queries.",
        koncorde_kind(keyword)
    )]
    KoncordeRestrictedKeyword { keyword: String },

    /// A Koncorde filter is malformed.
    #[error("Invalid Koncorde filter: {reason}.")]
    KoncordeDslError { reason: String },

    /// The engine failed: disk, database or index error.
    #[error("Storage engine failure: {reason}.")]
    Internal { reason: String },
}

/// Returns `private` for internal indexes and `public` otherwise, as Kuzzle's messages name the scope.
fn index_scope(index: &str) -> &'static str {
    if crate::names::is_internal_index(index) {
        "private"
    } else {
        "public"
    }
}

/// Returns how Kuzzle's message names a Koncorde keyword: `bool` is an operator.
fn koncorde_kind(keyword: &str) -> &'static str {
    if keyword == "bool" {
        "operator"
    } else {
        "keyword"
    }
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

    /// Returns the values of the message placeholders of the catalogue id, in order.
    pub fn props(&self) -> Vec<String> {
        match self {
            Self::InvalidIndexName { name, .. } | Self::InvalidCollectionName { name, .. } => {
                vec![name.clone()]
            }
            Self::IndexAlreadyExists { index } => {
                vec![index_scope(index).to_owned(), index.clone()]
            }
            Self::UnknownIndex { index } => vec![index.clone()],
            Self::UnknownCollection { index, collection } => {
                vec![index.clone(), collection.clone()]
            }
            Self::NotFound {
                id,
                index,
                collection,
            } => {
                vec![id.clone(), index.clone(), collection.clone()]
            }
            Self::DocumentAlreadyExists { .. }
            | Self::UnknownScrollId { .. }
            | Self::GetLimitExceeded { .. } => Vec::new(),
            Self::StrictMappingRejection {
                field,
                index,
                collection,
            } => {
                vec![field.clone(), index.clone(), collection.clone()]
            }
            Self::FieldTypeMismatch {
                field,
                expected,
                value,
            } => {
                vec![
                    field.clone(),
                    format!(" The value {value} is not a valid {expected}."),
                ]
            }
            Self::InvalidMapping { path, reason } => vec![path.clone(), format!(" {reason}")],
            Self::InvalidMappingType { field, type_name } => vec![field.clone(), type_name.clone()],
            Self::CannotChangeMapping { field, .. } => vec![field.clone()],
            Self::UnknownQueryKeyword { keyword } | Self::InvalidQueryKeyword { keyword } => {
                vec![keyword.clone()]
            }
            Self::KoncordeRestrictedKeyword { keyword } => {
                vec![koncorde_kind(keyword).to_owned(), keyword.clone()]
            }
            Self::InvalidSearchQuery { reason }
            | Self::KoncordeDslError { reason }
            | Self::Internal { reason } => vec![reason.clone()],
            Self::InvalidArgument { name, reason } => vec![name.clone(), reason.clone()],
            Self::ScrollDurationTooGreat { requested_ms, .. } => vec![format!("{requested_ms}ms")],
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `%s` placeholders in order, as Kuzzle builds messages from props.
    fn render(template: &str, props: &[String]) -> String {
        let mut parts = template.split("%s");
        let mut rendered = parts.next().unwrap_or_default().to_owned();
        for (part, prop) in parts.zip(props) {
            rendered.push_str(prop);
            rendered.push_str(part);
        }
        rendered
    }

    #[test]
    fn messages_follow_kuzzle_templates() {
        let (id, index, collection) = ("d1".to_owned(), "shop".to_owned(), "items".to_owned());
        let cases = [
            (
                StorageError::NotFound {
                    id: id.clone(),
                    index: index.clone(),
                    collection: collection.clone(),
                },
                "Document \"%s\" not found in \"%s\":\"%s\".",
            ),
            (
                StorageError::UnknownIndex {
                    index: index.clone(),
                },
                "The index \"%s\" does not exist.",
            ),
            (
                StorageError::UnknownCollection {
                    index: index.clone(),
                    collection: collection.clone(),
                },
                "The collection \"%s\":\"%s\" does not exist.",
            ),
            (
                StorageError::IndexAlreadyExists {
                    index: "%kuzzle".to_owned(),
                },
                "A %s index named \"%s\" already exists",
            ),
            (
                StorageError::DocumentAlreadyExists {
                    id,
                    index: index.clone(),
                    collection: collection.clone(),
                },
                "Document already exists.",
            ),
            (
                StorageError::StrictMappingRejection {
                    field: "a.b".to_owned(),
                    index,
                    collection,
                },
                "Cannot create document. Field \"%s\" is not present in collection \"%s:%s\" strict mapping",
            ),
            (
                StorageError::InvalidMappingType {
                    field: "a".to_owned(),
                    type_name: "blob".to_owned(),
                },
                "Field \"%s\": the data type \"%s\" doesn't exist",
            ),
            (
                StorageError::CannotChangeMapping {
                    field: "a".to_owned(),
                    from: "long".to_owned(),
                    to: "text".to_owned(),
                },
                "Field \"%s\" already has a mapping, and it cannot be changed",
            ),
            (
                StorageError::UnknownScrollId {
                    scroll_id: "x".to_owned(),
                },
                "Non-existing or expired scroll identifier.",
            ),
            (
                StorageError::ScrollDurationTooGreat {
                    requested_ms: 90_000,
                    max_ms: 60_000,
                },
                "Scroll duration \"%s\" is too great",
            ),
            (
                StorageError::KoncordeRestrictedKeyword {
                    keyword: "bool".to_owned(),
                },
                "The %s \"%s\" of Koncorde DSL is not supported for search queries.",
            ),
            (
                StorageError::FieldTypeMismatch {
                    field: "n".to_owned(),
                    expected: "long",
                    value: "\"x\"".to_owned(),
                },
                "Invalid mapping property \"mappings.%s\".%s",
            ),
        ];
        for (error, template) in cases {
            let rendered = render(template, &error.props());
            assert!(
                error.to_string().starts_with(&rendered),
                "{error} does not start with {rendered}"
            );
            assert_eq!(
                template.matches("%s").count(),
                error.props().len(),
                "{error}"
            );
        }
    }

    #[test]
    fn private_index_scope() {
        let error = StorageError::IndexAlreadyExists {
            index: "%kuzzle".to_owned(),
        };
        assert_eq!(
            error.props(),
            vec!["private".to_owned(), "%kuzzle".to_owned()]
        );
        let error = StorageError::IndexAlreadyExists {
            index: "shop".to_owned(),
        };
        assert_eq!(error.props()[0], "public");
    }
}
