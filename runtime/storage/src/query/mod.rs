//! The Elasticsearch query language: a typed tree parsed from the JSON search body.

mod body;
mod clause;
pub mod date_math;
pub mod eval;
pub mod geo;
pub mod highlight;
pub mod koncorde;
mod query_string;
pub mod sort;
pub mod source;
pub mod value;

use serde_json::Value;

pub use body::{SearchBody, parse_query};
use geo::GeoPoint;

/// The combination of a `match` query's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Or,
    And,
}

/// A `minimum_should_match` value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinimumShouldMatch {
    /// A number of clauses; negative means "all but".
    Count(i64),
    /// A percentage of the clauses; negative means "all but".
    Percent(f64),
}

impl MinimumShouldMatch {
    /// Returns the number of clauses required out of `total`.
    pub fn resolve(self, total: usize) -> usize {
        let total_i = total as i64;
        let required = match self {
            Self::Count(count) if count < 0 => total_i + count,
            Self::Count(count) => count,
            Self::Percent(percent) if percent < 0.0 => {
                total_i - ((-percent) * total as f64 / 100.0).floor() as i64
            }
            Self::Percent(percent) => (percent * total as f64 / 100.0).floor() as i64,
        };
        required.clamp(0, total_i) as usize
    }
}

/// One bound of a `range` query.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeBound {
    pub value: Value,
    pub inclusive: bool,
}

/// A query clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    MatchAll,
    MatchNone,
    Term {
        field: String,
        value: Value,
        case_insensitive: bool,
    },
    Terms {
        field: String,
        values: Vec<Value>,
    },
    Range {
        field: String,
        lower: Option<RangeBound>,
        upper: Option<RangeBound>,
    },
    Exists {
        field: String,
    },
    Ids {
        values: Vec<String>,
    },
    Prefix {
        field: String,
        value: String,
        case_insensitive: bool,
    },
    Wildcard {
        field: String,
        pattern: String,
        case_insensitive: bool,
    },
    Regexp {
        field: String,
        pattern: String,
    },
    Match {
        field: String,
        text: Value,
        operator: Operator,
        minimum_should_match: Option<MinimumShouldMatch>,
    },
    MatchPhrase {
        field: String,
        text: String,
        slop: u32,
    },
    MatchPhrasePrefix {
        field: String,
        text: String,
    },
    MultiMatch {
        fields: Vec<String>,
        text: Value,
        operator: Operator,
        phrase: bool,
    },
    Bool(BoolQuery),
    ConstantScore {
        filter: Box<Query>,
        boost: f32,
    },
    Boost {
        query: Box<Query>,
        boost: f32,
    },
    Nested {
        path: String,
        query: Box<Query>,
    },
    GeoDistance {
        field: String,
        center: GeoPoint,
        distance_m: f64,
    },
    GeoBoundingBox {
        field: String,
        top_left: GeoPoint,
        bottom_right: GeoPoint,
    },
    GeoPolygon {
        field: String,
        points: Vec<GeoPoint>,
    },
}

/// A `bool` query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoolQuery {
    pub must: Vec<Query>,
    pub filter: Vec<Query>,
    pub should: Vec<Query>,
    pub must_not: Vec<Query>,
    pub minimum_should_match: Option<MinimumShouldMatch>,
}

impl BoolQuery {
    /// Returns how many `should` clauses a document must match, with Elasticsearch's default:
    /// one when there is no `must` or `filter` clause, zero otherwise.
    pub fn required_should(&self) -> usize {
        match self.minimum_should_match {
            Some(minimum) => minimum.resolve(self.should.len()),
            None if self.must.is_empty() && self.filter.is_empty() && !self.should.is_empty() => 1,
            None => 0,
        }
    }
}
