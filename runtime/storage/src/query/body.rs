//! The search body: query, sort, pagination, `_source` filtering, aggregations and highlight.

use serde_json::Value;

use super::highlight::Highlight;
use super::sort::{SortField, parse_sort};
use super::source::SourceFilter;
use super::{Query, clause};
use crate::error::{Result, StorageError};

/// A parsed search body.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchBody {
    pub query: Query,
    pub sort: Vec<SortField>,
    pub from: Option<usize>,
    pub size: Option<usize>,
    pub source: SourceFilter,
    pub search_after: Option<Vec<Value>>,
    /// The `aggregations` (or `aggs`) request, checked later against the engine's support.
    pub aggregations: Option<Value>,
    pub highlight: Option<Highlight>,
}

/// Body keys accepted and ignored because they do not change the result of this engine.
const IGNORED_KEYS: &[&str] = &["track_total_hits", "timeout", "track_scores", "version"];

impl SearchBody {
    /// Parses a search body; `null` or `{}` is a `match_all` search.
    ///
    /// # Errors
    ///
    /// [`StorageError::InvalidQueryKeyword`] for a script anywhere in the body,
    /// [`StorageError::UnknownQueryKeyword`] for an unsupported key or clause,
    /// [`StorageError::InvalidSearchQuery`] for a malformed one.
    pub fn parse(body: &Value) -> Result<Self> {
        reject_scripts(body)?;
        let mut parsed = Self {
            query: Query::MatchAll,
            sort: Vec::new(),
            from: None,
            size: None,
            source: SourceFilter::default(),
            search_after: None,
            aggregations: None,
            highlight: None,
        };
        let Some(map) = body.as_object() else {
            return match body {
                Value::Null => Ok(parsed),
                _ => Err(StorageError::query("the search body must be an object")),
            };
        };
        for (key, value) in map {
            match key.as_str() {
                "query" => parsed.query = clause::parse(value)?,
                "sort" => parsed.sort = parse_sort(value)?,
                "from" => parsed.from = Some(parse_count(value, "from")?),
                "size" => parsed.size = Some(parse_count(value, "size")?),
                "_source" => parsed.source = SourceFilter::parse(value)?,
                "search_after" => parsed.search_after = Some(parse_search_after(value)?),
                "aggregations" | "aggs" => parsed.aggregations = Some(value.clone()),
                "highlight" => parsed.highlight = Some(Highlight::parse(value)?),
                key if IGNORED_KEYS.contains(&key) => {}
                other => return Err(StorageError::unsupported(other)),
            }
        }
        Ok(parsed)
    }
}

/// Parses a query clause on its own, as `count` and the by-query actions receive it.
///
/// # Errors
///
/// The same as [`SearchBody::parse`].
pub fn parse_query(query: &Value) -> Result<Query> {
    reject_scripts(query)?;
    match query {
        Value::Null => Ok(Query::MatchAll),
        Value::Object(map) if map.is_empty() => Ok(Query::MatchAll),
        other => clause::parse(other),
    }
}

fn parse_count(value: &Value, name: &str) -> Result<usize> {
    let count = value
        .as_u64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()));
    count
        .and_then(|count| usize::try_from(count).ok())
        .ok_or_else(|| StorageError::query(format!("`{name}` must be a non-negative integer")))
}

fn parse_search_after(value: &Value) -> Result<Vec<Value>> {
    match value {
        Value::Array(values) => Ok(values.clone()),
        _ => Err(StorageError::query(
            "`search_after` must be an array of sort values",
        )),
    }
}

/// Rejects any `script`-like key, at any depth, as Kuzzle does before querying Elasticsearch.
fn reject_scripts(value: &Value) -> Result<()> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "script" || key.starts_with("script_") || key == "_script" {
                    return Err(StorageError::InvalidQueryKeyword {
                        keyword: key.clone(),
                    });
                }
                reject_scripts(child)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(reject_scripts),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scripts_rejected_anywhere() {
        for body in [
            json!({"query": {"script": {"script": "1"}}}),
            json!({"query": {"bool": {"filter": [{"script_score": {}}]}}}),
            json!({"sort": [{"_script": {}}]}),
            json!({"aggs": {"a": {"avg": {"script": "x"}}}}),
        ] {
            let error = SearchBody::parse(&body).unwrap_err();
            assert_eq!(
                error.kuzzle_id(),
                "services.storage.invalid_query_keyword",
                "{body}"
            );
        }
    }

    #[test]
    fn unknown_body_key_named() {
        let error = SearchBody::parse(&json!({"collapse": {"field": "a"}})).unwrap_err();
        assert_eq!(error.kuzzle_id(), "services.storage.unknown_query_keyword");
        assert_eq!(error.props(), vec!["collapse".to_owned()]);
    }

    #[test]
    fn empty_body_is_match_all() {
        let body = SearchBody::parse(&json!({})).unwrap();
        assert_eq!(body.query, Query::MatchAll);
        assert_eq!(parse_query(&json!({})).unwrap(), Query::MatchAll);
    }
}
