//! The simple forms of `query_string`: words, `field:value`, quoted phrases, `+`/`-` and one
//! kind of `AND`/`OR` per query.

use serde_json::Value;

use super::{BoolQuery, Operator, Query};
use crate::error::{Result, StorageError};

/// Field name that stands for every `text` and `keyword` field of the mapping.
pub const ALL_FIELDS: &str = "*";

#[derive(Debug, PartialEq)]
enum Occurrence {
    Must,
    Should,
    MustNot,
}

pub(super) fn parse(body: &Value) -> Result<Query> {
    let text = body
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| StorageError::query("`query_string` requires a string `query`"))?;
    let fields = default_fields(body)?;
    let default_and = match body.get("default_operator").and_then(Value::as_str) {
        None => false,
        Some(op) if op.eq_ignore_ascii_case("or") => false,
        Some(op) if op.eq_ignore_ascii_case("and") => true,
        Some(other) => return Err(StorageError::query(format!("unknown operator `{other}`"))),
    };
    if let Some(special) = text.chars().find(|c| "()[]{}~^\\/".contains(*c)) {
        return Err(StorageError::unsupported(format!(
            "query_string syntax `{special}`"
        )));
    }

    let tokens = tokenize(text)?;
    let has_and = tokens.iter().any(|t| t == "AND" || t == "&&");
    let has_or = tokens.iter().any(|t| t == "OR" || t == "||");
    if has_and && has_or {
        return Err(StorageError::unsupported("query_string mixing AND and OR"));
    }
    let all_required = has_and || default_and;

    let mut bool_query = BoolQuery::default();
    let mut negate_next = false;
    for token in tokens {
        match token.as_str() {
            "AND" | "&&" | "OR" | "||" => continue,
            "NOT" | "!" => {
                negate_next = true;
                continue;
            }
            _ => {}
        }
        let (occurrence, clause) = parse_token(&token, &fields, all_required)?;
        let occurrence = if negate_next {
            Occurrence::MustNot
        } else {
            occurrence
        };
        negate_next = false;
        match occurrence {
            Occurrence::Must => bool_query.must.push(clause),
            Occurrence::Should => bool_query.should.push(clause),
            Occurrence::MustNot => bool_query.must_not.push(clause),
        }
    }
    if bool_query.must.is_empty() && bool_query.should.is_empty() {
        bool_query.must.push(Query::MatchAll);
    }
    Ok(Query::Bool(bool_query))
}

fn default_fields(body: &Value) -> Result<Vec<String>> {
    if let Some(fields) = body.get("fields").and_then(Value::as_array) {
        let fields: Vec<String> = fields
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        if fields
            .iter()
            .any(|field| field.contains('^') || field.contains('*'))
        {
            return Err(StorageError::unsupported(
                "query_string.fields with boosts or wildcards",
            ));
        }
        return Ok(fields);
    }
    match body.get("default_field").and_then(Value::as_str) {
        Some(field) => Ok(vec![field.to_owned()]),
        None => Ok(vec![ALL_FIELDS.to_owned()]),
    }
}

fn tokenize(text: &str) -> Result<Vec<String>> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(StorageError::query("unbalanced quote in `query_string`"));
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    Ok(tokens)
}

fn parse_token(token: &str, fields: &[String], all_required: bool) -> Result<(Occurrence, Query)> {
    let (occurrence, rest) = match token.chars().next() {
        Some('+') => (Occurrence::Must, &token[1..]),
        Some('-') => (Occurrence::MustNot, &token[1..]),
        _ if all_required => (Occurrence::Must, token),
        _ => (Occurrence::Should, token),
    };
    let (fields, value) = match rest.split_once(':') {
        Some((field, value)) if !field.starts_with('"') => (vec![field.to_owned()], value),
        _ => (fields.to_vec(), rest),
    };
    if value.is_empty() {
        return Err(StorageError::query(format!(
            "empty value in `query_string` term `{token}`"
        )));
    }
    Ok((occurrence, value_query(fields, value)))
}

fn value_query(fields: Vec<String>, value: &str) -> Query {
    if value == "*" {
        return match fields.as_slice() {
            [field] if field != ALL_FIELDS => Query::Exists {
                field: field.clone(),
            },
            _ => Query::MatchAll,
        };
    }
    let phrase = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
    if !phrase && (value.contains('*') || value.contains('?')) {
        let clauses = fields
            .into_iter()
            .map(|field| Query::Wildcard {
                field,
                pattern: value.to_owned(),
                case_insensitive: false,
            })
            .collect();
        return Query::Bool(BoolQuery {
            should: clauses,
            ..BoolQuery::default()
        });
    }
    let text = value.trim_matches('"').to_owned();
    match fields.as_slice() {
        [field] if field != ALL_FIELDS && phrase => Query::MatchPhrase {
            field: field.clone(),
            text,
            slop: 0,
        },
        [field] if field != ALL_FIELDS => Query::Match {
            field: field.clone(),
            text: Value::String(text),
            operator: Operator::Or,
            minimum_should_match: None,
        },
        _ => Query::MultiMatch {
            fields,
            text: Value::String(text),
            operator: Operator::Or,
            phrase,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fielded_terms_and_negation() {
        let query = parse(&json!({"query": "title:rust -status:draft \"big book\""})).unwrap();
        let Query::Bool(bool_query) = query else {
            panic!()
        };
        assert_eq!(bool_query.should.len(), 2);
        assert_eq!(bool_query.must_not.len(), 1);
    }

    #[test]
    fn and_makes_terms_required() {
        let query = parse(&json!({"query": "a AND b", "default_field": "t"})).unwrap();
        let Query::Bool(bool_query) = query else {
            panic!()
        };
        assert_eq!(bool_query.must.len(), 2);
    }

    #[test]
    fn grouping_is_unsupported() {
        let error = parse(&json!({"query": "(a OR b) AND c"})).unwrap_err();
        assert_eq!(error.kuzzle_id(), "services.storage.unknown_query_keyword");
    }
}
