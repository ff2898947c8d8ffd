//! Translation of the typed query tree into tantivy queries.

use std::ops::Bound;

use serde_json::Value;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery,
    InvertedIndexRangeQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query as TantivyQuery,
    RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Term};

use super::fast_range::FastFieldRangeQuery;
use super::geo_filter;
use super::search_index::{ID_FIELD, SchemaField, SearchIndex};
use crate::error::{Result, StorageError};
use crate::mapping::{FieldType, IndexValue, Mapping};
use crate::query::date_math::Rounding;
use crate::query::value::{coerce, coerce_query};
use crate::query::{BoolQuery, MinimumShouldMatch, Operator, Query, RangeBound};

type Boxed = Box<dyn TantivyQuery>;

/// Finds the ids of the documents matching a clause that the index cannot evaluate alone.
///
/// The optional query is a prefilter: only the documents it matches can match the clause.
pub(crate) type IdResolver<'a> =
    dyn Fn(&Query, Option<Box<dyn TantivyQuery>>) -> Result<Vec<String>> + 'a;

/// Translates queries for one collection's index.
pub(crate) struct Translator<'a> {
    pub mapping: &'a Mapping,
    pub search: &'a SearchIndex,
    pub resolve_ids: &'a IdResolver<'a>,
}

impl Translator<'_> {
    pub fn translate(&self, query: &Query) -> Result<Boxed> {
        let translated: Boxed = match query {
            Query::MatchAll => Box::new(AllQuery),
            Query::MatchNone => Box::new(EmptyQuery),
            Query::Term {
                field,
                value,
                case_insensitive,
            } => self.term(field, value, *case_insensitive)?,
            Query::Terms { field, values } => self.terms(field, values)?,
            Query::Range {
                field,
                lower,
                upper,
            } => self.range(field, lower, upper)?,
            Query::Exists { field } if field == ID_FIELD => Box::new(AllQuery),
            Query::Exists { field } => {
                let term = Term::from_field_text(self.search.present_field, field);
                Box::new(TermQuery::new(term, IndexRecordOption::Basic))
            }
            Query::Ids { values } => self.ids(values),
            Query::Prefix {
                field,
                value,
                case_insensitive,
            } => self.regex(
                field,
                &format!("{}.*", regex::escape(value)),
                *case_insensitive,
            )?,
            Query::Wildcard {
                field,
                pattern,
                case_insensitive,
            } => self.regex(field, &wildcard_to_regex(pattern), *case_insensitive)?,
            Query::Regexp { field, pattern } => self.regex(field, pattern, false)?,
            Query::Match {
                field,
                text,
                operator,
                minimum_should_match,
            } => self.match_query(field, text, *operator, *minimum_should_match)?,
            Query::MatchPhrase { field, text, slop } => self.phrase(field, text, *slop, false)?,
            Query::MatchPhrasePrefix { field, text } => self.phrase(field, text, 0, true)?,
            Query::MultiMatch {
                fields,
                text,
                operator,
                phrase,
            } => self.multi_match(fields, text, *operator, *phrase)?,
            Query::Bool(bool_query) => self.bool_query(bool_query)?,
            Query::ConstantScore { filter, boost } => {
                Box::new(ConstScoreQuery::new(self.translate(filter)?, *boost))
            }
            Query::Boost { query, boost } => {
                Box::new(BoostQuery::new(self.translate(query)?, *boost))
            }
            Query::Nested { .. }
            | Query::GeoDistance { .. }
            | Query::GeoBoundingBox { .. }
            | Query::GeoPolygon { .. } => {
                let prefilter = geo_filter::prefilter(query, self.search);
                let ids = (self.resolve_ids)(query, prefilter)?;
                Box::new(ConstScoreQuery::new(self.ids(&ids), 1.0))
            }
        };
        Ok(translated)
    }

    /// Returns the schema field and mapped type of a path, `None` when it is not mapped (such
    /// a query matches nothing, as in Elasticsearch).
    ///
    /// # Errors
    ///
    /// [`StorageError::InvalidSearchQuery`] for a field mapped with `index: false`.
    fn field(&self, path: &str) -> Result<Option<(SchemaField, FieldType)>> {
        let Some(field_type) = self.mapping.leaf_type(path) else {
            return Ok(None);
        };
        match self.search.field(path) {
            Some(schema_field) => Ok(Some((schema_field, field_type))),
            None if !self.mapping.is_searchable(path) => Err(StorageError::query(format!(
                "cannot search on field `{path}` because its mapping sets `index: false`"
            ))),
            None => Ok(None),
        }
    }

    fn typed_term(
        &self,
        path: &str,
        field: SchemaField,
        field_type: FieldType,
        value: &Value,
        rounding: Rounding,
    ) -> Result<Term> {
        let typed = coerce_query(field_type, value, rounding).ok_or_else(|| {
            StorageError::query(format!(
                "{value} is not a valid `{}` value for field `{path}`",
                field_type.name()
            ))
        })?;
        let field = field.field;
        Ok(match typed {
            IndexValue::Str(text) => Term::from_field_text(field, &text),
            IndexValue::I64(number) => Term::from_field_i64(field, number),
            IndexValue::F64(number) => Term::from_field_f64(field, number),
            IndexValue::Bool(flag) => Term::from_field_bool(field, flag),
            IndexValue::Date(millis) => {
                Term::from_field_date(field, DateTime::from_timestamp_millis(millis))
            }
            IndexValue::Geo(_) => return Err(StorageError::unsupported("term on geo_point")),
        })
    }

    fn record_option(field_type: FieldType) -> IndexRecordOption {
        match field_type {
            FieldType::Text | FieldType::Keyword => IndexRecordOption::WithFreqs,
            _ => IndexRecordOption::Basic,
        }
    }

    fn term(&self, path: &str, value: &Value, case_insensitive: bool) -> Result<Boxed> {
        if path == ID_FIELD {
            return Ok(self.ids(&[scalar_text(value)]));
        }
        let Some((field, field_type)) = self.field(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        if case_insensitive && field_type == FieldType::Keyword {
            return self.regex(path, &regex::escape(&scalar_text(value)), true);
        }
        let term = self.typed_term(path, field, field_type, value, Rounding::Down)?;
        Ok(Box::new(TermQuery::new(
            term,
            Self::record_option(field_type),
        )))
    }

    fn terms(&self, path: &str, values: &[Value]) -> Result<Boxed> {
        if path == ID_FIELD {
            let ids: Vec<String> = values.iter().map(scalar_text).collect();
            return Ok(self.ids(&ids));
        }
        let Some((field, field_type)) = self.field(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let terms = values
            .iter()
            .map(|value| self.typed_term(path, field, field_type, value, Rounding::Down))
            .collect::<Result<Vec<_>>>()?;
        Ok(Box::new(ConstScoreQuery::new(
            Box::new(TermSetQuery::new(terms)),
            1.0,
        )))
    }

    fn range(
        &self,
        path: &str,
        lower: &Option<RangeBound>,
        upper: &Option<RangeBound>,
    ) -> Result<Boxed> {
        if path == ID_FIELD {
            return Err(StorageError::unsupported("range on _id"));
        }
        let Some((field, field_type)) = self.field(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        if field_type == FieldType::Text {
            return Err(StorageError::unsupported("range on a text field"));
        }
        // Date math rounding goes outward for inclusive bounds, as in Elasticsearch: `lte:
        // now/d` takes the whole day, `lt: now/d` stops before it.
        let bound = |bound: &Option<RangeBound>, is_lower: bool| -> Result<Bound<Term>> {
            let Some(RangeBound { value, inclusive }) = bound else {
                return Ok(Bound::Unbounded);
            };
            let rounding = if *inclusive != is_lower {
                Rounding::Up
            } else {
                Rounding::Down
            };
            let term = self.typed_term(path, field, field_type, value, rounding)?;
            Ok(if *inclusive {
                Bound::Included(term)
            } else {
                Bound::Excluded(term)
            })
        };
        if lower.is_none() && upper.is_none() {
            // A range without bounds matches every document with a value, as in Elasticsearch.
            return self.translate(&Query::Exists {
                field: path.to_owned(),
            });
        }
        let (lower, upper) = (bound(lower, true)?, bound(upper, false)?);
        let query: Boxed = match field_type {
            // A bool query seeks a fast-field range to the documents of its other clauses, where
            // the inverted-index range reads every posting in the range first.
            FieldType::Integer
            | FieldType::Long
            | FieldType::Float
            | FieldType::Double
            | FieldType::Date => Box::new(FastFieldRangeQuery::new(lower, upper)),
            // tantivy 0.27's fast-field range rejects boolean bounds.
            _ => Box::new(InvertedIndexRangeQuery::new(lower, upper)),
        };
        Ok(Box::new(ConstScoreQuery::new(query, 1.0)))
    }

    fn ids(&self, ids: &[String]) -> Boxed {
        let terms = ids
            .iter()
            .map(|id| Term::from_field_text(self.search.id_field, id));
        Box::new(TermSetQuery::new(terms))
    }

    fn regex(&self, path: &str, pattern: &str, case_insensitive: bool) -> Result<Boxed> {
        let (field, field_type) = if path == ID_FIELD {
            (
                SchemaField {
                    field: self.search.id_field,
                },
                FieldType::Keyword,
            )
        } else {
            match self.field(path)? {
                Some(found) => found,
                None => return Ok(Box::new(EmptyQuery)),
            }
        };
        if !matches!(field_type, FieldType::Keyword | FieldType::Text) {
            return Err(StorageError::query(format!(
                "pattern queries need a keyword or text field; `{path}` is `{}`",
                field_type.name()
            )));
        }
        let pattern = if case_insensitive {
            format!("(?i){pattern}")
        } else {
            pattern.to_owned()
        };
        let query = RegexQuery::from_pattern(&pattern, field.field).map_err(|error| {
            StorageError::query(format!("invalid pattern `{pattern}`: {error}"))
        })?;
        Ok(Box::new(ConstScoreQuery::new(Box::new(query), 1.0)))
    }

    fn analyzer(&self) -> Result<TextAnalyzer> {
        self.search
            .index
            .tokenizers()
            .get("default")
            .ok_or_else(|| StorageError::internal("the default tokenizer is not registered"))
    }

    fn analyze(&self, text: &str) -> Result<Vec<String>> {
        let mut analyzer = self.analyzer()?;
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        stream.process(&mut |token| tokens.push(token.text.clone()));
        Ok(tokens)
    }

    fn match_query(
        &self,
        path: &str,
        text: &Value,
        operator: Operator,
        minimum: Option<MinimumShouldMatch>,
    ) -> Result<Boxed> {
        if path == ID_FIELD {
            return self.term(path, text, false);
        }
        let Some((field, field_type)) = self.field(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        if field_type != FieldType::Text {
            return self.term(path, text, false);
        }
        let tokens = self.analyze(&scalar_text(text))?;
        let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
        let occur = if operator == Operator::And {
            Occur::Must
        } else {
            Occur::Should
        };
        for token in &tokens {
            let term = Term::from_field_text(field.field, token);
            clauses.push((
                occur,
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
            ));
        }
        match (clauses.len(), occur) {
            (0, _) => Ok(Box::new(EmptyQuery)),
            (1, _) => Ok(clauses.pop().expect("one clause").1),
            (count, Occur::Should) => {
                let required = minimum.map_or(1, |minimum| minimum.resolve(count).max(1));
                Ok(Box::new(BooleanQuery::with_minimum_required_clauses(
                    clauses, required,
                )))
            }
            _ => Ok(Box::new(BooleanQuery::new(clauses))),
        }
    }

    fn phrase(&self, path: &str, text: &str, slop: u32, prefix: bool) -> Result<Boxed> {
        let Some((field, field_type)) = self.field(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        if field_type != FieldType::Text {
            if prefix {
                return self.regex(path, &format!("{}.*", regex::escape(text)), false);
            }
            return self.term(path, &Value::String(text.to_owned()), false);
        }
        let tokens = self.analyze(text)?;
        let terms: Vec<Term> = tokens
            .iter()
            .map(|token| Term::from_field_text(field.field, token))
            .collect();
        match terms.len() {
            0 => Ok(Box::new(EmptyQuery)),
            1 if prefix => self.regex(path, &format!("{}.*", regex::escape(&tokens[0])), false),
            1 => Ok(Box::new(TermQuery::new(
                terms[0].clone(),
                IndexRecordOption::WithFreqs,
            ))),
            _ if prefix => Ok(Box::new(PhrasePrefixQuery::new(terms))),
            _ => {
                let positioned = terms.into_iter().enumerate().collect();
                Ok(Box::new(PhraseQuery::new_with_offset_and_slop(
                    positioned, slop,
                )))
            }
        }
    }

    fn multi_match(
        &self,
        fields: &[String],
        text: &Value,
        operator: Operator,
        phrase: bool,
    ) -> Result<Boxed> {
        let expanded: Vec<String> = if fields.iter().any(|field| field == "*") {
            self.mapping
                .leaves()
                .into_iter()
                .filter(|leaf| matches!(leaf.field_type, FieldType::Text | FieldType::Keyword))
                .map(|leaf| leaf.path)
                .collect()
        } else {
            fields.to_vec()
        };
        let mut disjuncts = Vec::new();
        for field in &expanded {
            let query = if phrase {
                self.phrase(field, &scalar_text(text), 0, false)?
            } else {
                let field_type = self.mapping.leaf_type(field);
                if field_type.is_some_and(|t| t != FieldType::Text)
                    && coerce(field_type.unwrap_or(FieldType::Keyword), text).is_none()
                {
                    // Elasticsearch's multi_match is lenient across fields of other types.
                    continue;
                }
                self.match_query(field, text, operator, None)?
            };
            disjuncts.push(query);
        }
        Ok(Box::new(DisjunctionMaxQuery::new(disjuncts)))
    }

    fn bool_query(&self, query: &BoolQuery) -> Result<Boxed> {
        let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
        for clause in &query.must {
            clauses.push((Occur::Must, self.translate(clause)?));
        }
        for clause in &query.filter {
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(self.translate(clause)?, 0.0)),
            ));
        }
        for clause in &query.should {
            clauses.push((Occur::Should, self.translate(clause)?));
        }
        for clause in &query.must_not {
            clauses.push((Occur::MustNot, self.translate(clause)?));
        }
        let required = query.required_should();
        if query.must.is_empty() && query.filter.is_empty() && required == 0 {
            // Without a required clause every document is a candidate, as in Elasticsearch.
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0)),
            ));
        }
        Ok(Box::new(BooleanQuery::with_minimum_required_clauses(
            clauses, required,
        )))
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Converts an Elasticsearch wildcard pattern (`*` any run, `?` one character) to a regex.
fn wildcard_to_regex(pattern: &str) -> String {
    let mut regex = String::new();
    for c in pattern.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            other => regex.push_str(&regex::escape(&other.to_string())),
        }
    }
    regex
}
