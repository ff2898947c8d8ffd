//! Kuzzle's HTTP route table, loaded from `kuzzle-routes.txt`.
//!
//! The file lists one route per line, `VERB /path/:param -> controller:action`, optionally followed
//! by `(deprecated since X)`. The order matters: `server:publicApi` lists routes in this order and
//! the SDK picks among a controller action's routes by position and length.

/// Kuzzle's route table, in Kuzzle's order.
const KUZZLE_ROUTES: &str = include_str!("kuzzle-routes.txt");

/// One HTTP route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper-case HTTP verb.
    pub verb: String,
    /// Path with `:name` placeholders, always starting with `/` and without a trailing `/`.
    pub path: String,
    /// Controller name.
    pub controller: String,
    /// Action name.
    pub action: String,
    /// Version since which the route is deprecated, if it is.
    pub deprecated_since: Option<String>,
}

impl Route {
    /// Names of the path's placeholders, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.path
            .split('/')
            .filter_map(|segment| segment.strip_prefix(':'))
    }
}

/// Every HTTP route the server serves, native and plugin-provided.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Kuzzle's native route table.
    pub fn kuzzle() -> Self {
        let routes = KUZZLE_ROUTES
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(parse_line);
        Self {
            routes: routes.collect(),
        }
    }

    /// Builds a table of the given routes, such as the custom routes of plugin actions.
    pub fn from_routes(routes: Vec<Route>) -> Self {
        let routes = routes
            .into_iter()
            .map(|route| Route {
                path: normalize_path(&route.path),
                ..route
            })
            .collect();
        Self { routes }
    }

    /// Every route, in table order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Routes of one controller action, in table order.
    pub fn routes_of<'a>(
        &'a self,
        controller: &'a str,
        action: &'a str,
    ) -> impl Iterator<Item = &'a Route> {
        self.routes
            .iter()
            .filter(move |r| r.controller == controller && r.action == action)
    }
}

fn parse_line(line: &str) -> Route {
    let (left, right) = line.split_once(" -> ").expect("route line has ` -> `");
    let (verb, path) = left.split_once(' ').expect("route line starts with a verb");
    let (target, note) = match right.split_once(" (deprecated since ") {
        Some((target, note)) => (target, Some(note.trim_end_matches(')').to_owned())),
        None => (right, None),
    };
    let (controller, action) = target
        .split_once(':')
        .expect("route target is controller:action");

    Route {
        verb: verb.to_owned(),
        path: normalize_path(path),
        controller: controller.to_owned(),
        action: action.trim().to_owned(),
        deprecated_since: note,
    }
}

/// Strips a trailing `/` (except for the root) so `/admin/_shutdown/` and `/admin/_shutdown` match.
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kuzzle_table_loads_every_route() {
        let table = RouteTable::kuzzle();
        assert_eq!(table.routes().len(), 178);
        let now = table.routes_of("server", "now").next().unwrap();
        assert_eq!(now.verb, "GET");
        assert_eq!(now.path, "/_now");
    }

    #[test]
    fn deprecation_and_params_parse() {
        let table = RouteTable::kuzzle();
        let update = table.routes_of("document", "update").next().unwrap();
        assert_eq!(update.verb, "PUT");
        assert_eq!(update.deprecated_since.as_deref(), Some("2.11.0"));
        assert_eq!(
            update.params().collect::<Vec<_>>(),
            ["index", "collection", "_id"]
        );
    }

    #[test]
    fn trailing_slash_is_stripped() {
        let table = RouteTable::kuzzle();
        assert!(table.routes().iter().any(|r| r.path == "/admin/_shutdown"));
    }
}
