//! Matches a verb and URL path to a route, with Kuzzle's rules: one tree per verb, a static
//! segment beats a `:param` segment, and there is no backtracking. So `GET /users/foo/bar` is not
//! found, although `/:index/:collection/:_id` would match it; such names are reachable through
//! `POST /_query`.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

use super::table::normalize_path;
use super::{Route, RouteTable};

/// A matched route and the values of its placeholders.
#[derive(Debug)]
pub struct RouteMatch<'a> {
    /// The route.
    pub route: &'a Route,
    /// `(placeholder, decoded value)` pairs, in path order.
    pub params: Vec<(&'a str, String)>,
}

#[derive(Debug, Default)]
struct Node {
    statics: HashMap<String, Node>,
    param: Option<Box<Node>>,
    route: Option<usize>,
}

/// Route trees, one per verb.
#[derive(Debug)]
pub struct Router {
    table: RouteTable,
    trees: HashMap<String, Node>,
}

impl Router {
    /// Builds the trees of a route table. When two routes share a verb and a path shape, the
    /// first one listed wins, as in Kuzzle.
    pub fn new(table: RouteTable) -> Self {
        let mut trees: HashMap<String, Node> = HashMap::new();
        for (position, route) in table.routes().iter().enumerate() {
            let mut node = trees.entry(route.verb.clone()).or_default();
            for segment in segments(&route.path) {
                node = if segment.starts_with(':') {
                    node.param.get_or_insert_with(Box::default)
                } else {
                    node.statics.entry(segment.to_owned()).or_default()
                };
            }
            node.route.get_or_insert(position);
        }
        Self { table, trees }
    }

    /// The route table behind this router.
    pub fn table(&self) -> &RouteTable {
        &self.table
    }

    /// Whether any route uses this verb.
    pub fn knows_verb(&self, verb: &str) -> bool {
        self.trees.contains_key(verb)
    }

    /// Finds the route for a verb and a raw (still percent-encoded) path.
    pub fn find(&self, verb: &str, raw_path: &str) -> Option<RouteMatch<'_>> {
        let mut node = self.trees.get(verb)?;
        let mut values = Vec::new();

        for segment in segments(&normalize_path(raw_path)) {
            let decoded = percent_decode_str(segment).decode_utf8_lossy().into_owned();
            node = match node.statics.get(&decoded) {
                Some(child) => child,
                None => {
                    values.push(decoded);
                    node.param.as_deref()?
                }
            };
        }

        let route = &self.table.routes()[node.route?];
        let params = route.params().zip(values).collect();
        Some(RouteMatch { route, params })
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new(RouteTable::kuzzle())
    }

    fn target(found: Option<RouteMatch<'_>>) -> String {
        let found = found.expect("route found");
        format!("{}:{}", found.route.controller, found.route.action)
    }

    #[test]
    fn static_segments_beat_params() {
        let router = router();
        assert_eq!(target(router.find("GET", "/_now")), "server:now");
        assert_eq!(
            target(router.find("GET", "/users/_me")),
            "auth:getCurrentUser"
        );
        assert_eq!(target(router.find("GET", "/users/bob")), "security:getUser");
        assert_eq!(target(router.find("GET", "/i/c/d")), "document:get");
    }

    #[test]
    fn no_backtracking_into_params() {
        assert!(router().find("GET", "/users/foo/bar").is_none());
    }

    #[test]
    fn params_are_decoded_and_named() {
        let router = router();
        let found = router.find("GET", "/my%20index/c/doc%2F1").unwrap();
        assert_eq!(found.params[0], ("index", "my index".to_owned()));
        assert_eq!(found.params[2], ("_id", "doc/1".to_owned()));
    }

    #[test]
    fn different_param_names_share_a_position() {
        let router = router();
        let found = router.find("DELETE", "/users/u1/api-keys/k1").unwrap();
        assert_eq!(found.route.action, "deleteApiKey");
        assert_eq!(
            found.params,
            vec![("userId", "u1".to_owned()), ("_id", "k1".to_owned())]
        );
        let found = router.find("DELETE", "/users/u1").unwrap();
        assert_eq!(found.params, vec![("_id", "u1".to_owned())]);
    }

    #[test]
    fn trailing_slash_and_root() {
        let router = router();
        assert_eq!(
            target(router.find("POST", "/admin/_shutdown/")),
            "admin:shutdown"
        );
        assert_eq!(target(router.find("GET", "/")), "server:info");
    }

    #[test]
    fn unknown_verb_has_no_tree() {
        assert!(!router().knows_verb("TRACE"));
    }
}
