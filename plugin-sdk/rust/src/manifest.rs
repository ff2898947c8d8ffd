//! The manifest a plugin returns from `init`: what it adds to the server.

use crate::bindings::palisade::plugin::types;

/// The extensions a plugin adds to the server: controllers, pipes, hooks and authentication
/// strategies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    name: String,
    version: String,
    controllers: Vec<Controller>,
    pipes: Vec<String>,
    hooks: Vec<String>,
    strategies: Vec<(String, Vec<String>)>,
}

/// A controller the plugin adds to the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    name: String,
    actions: Vec<Action>,
}

/// One action of a plugin controller, with its extra HTTP routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    name: String,
    routes: Vec<(String, String)>,
}

impl Manifest {
    /// Creates an empty manifest. `name` must be unique on the server; pass
    /// `env!("CARGO_PKG_VERSION")` as `version` to show the crate's version in `server:info`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            controllers: Vec::new(),
            pipes: Vec::new(),
            hooks: Vec::new(),
            strategies: Vec::new(),
        }
    }

    /// Adds a controller.
    pub fn controller(mut self, controller: Controller) -> Self {
        self.controllers.push(controller);
        self
    }

    /// Adds a pipe on `event`, such as `document:beforeCreate` or `generic:document:beforeWrite`.
    pub fn pipe(mut self, event: impl Into<String>) -> Self {
        self.pipes.push(event.into());
        self
    }

    /// Adds a hook on `event`, such as `generic:document:afterWrite`.
    pub fn hook(mut self, event: impl Into<String>) -> Self {
        self.hooks.push(event.into());
        self
    }

    /// Adds an authentication strategy that reads the credential `fields`.
    pub fn strategy(mut self, name: impl Into<String>, fields: &[&str]) -> Self {
        let fields = fields.iter().map(|&field| field.to_owned()).collect();
        self.strategies.push((name.into(), fields));
        self
    }
}

impl Controller {
    /// Creates a controller without actions; its name is in camelCase and must not clash with a
    /// native controller.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            actions: Vec::new(),
        }
    }

    /// Adds an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }
}

impl Action {
    /// Creates an action, reachable over HTTP at `/_/<controller>/<action in kebab-case>`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            routes: Vec::new(),
        }
    }

    /// Adds an HTTP route. `verb` is upper-case; `path` may hold `:name` placeholders, and is
    /// relative to `/_/<controller>/` unless it starts with `/`.
    pub fn route(mut self, verb: impl Into<String>, path: impl Into<String>) -> Self {
        self.routes.push((verb.into(), path.into()));
        self
    }
}

impl From<Manifest> for types::Manifest {
    fn from(manifest: Manifest) -> Self {
        Self {
            name: manifest.name,
            version: manifest.version,
            controllers: manifest.controllers.into_iter().map(Into::into).collect(),
            pipes: manifest.pipes,
            hooks: manifest.hooks,
            strategies: manifest
                .strategies
                .into_iter()
                .map(|(name, fields)| types::Strategy { name, fields })
                .collect(),
        }
    }
}

impl From<Controller> for types::Controller {
    fn from(controller: Controller) -> Self {
        Self {
            name: controller.name,
            actions: controller.actions.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Action> for types::Action {
    fn from(action: Action) -> Self {
        let http = action
            .routes
            .into_iter()
            .map(|(verb, path)| types::HttpRoute { verb, path })
            .collect();
        Self {
            name: action.name,
            http,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_converts_to_wit() {
        let manifest: types::Manifest = Manifest::new("greeting", "1.2.3")
            .controller(
                Controller::new("greeting")
                    .action(Action::new("sayHello").route("GET", "say-hello/:name")),
            )
            .pipe("document:beforeCreate")
            .hook("generic:document:afterWrite")
            .strategy("token", &["token"])
            .into();

        assert_eq!(manifest.name, "greeting");
        assert_eq!(manifest.version, "1.2.3");
        assert_eq!(manifest.controllers.len(), 1);
        assert_eq!(manifest.controllers[0].name, "greeting");
        assert_eq!(manifest.controllers[0].actions[0].name, "sayHello");
        assert_eq!(manifest.controllers[0].actions[0].http[0].verb, "GET");
        assert_eq!(
            manifest.controllers[0].actions[0].http[0].path,
            "say-hello/:name"
        );
        assert_eq!(manifest.pipes, ["document:beforeCreate"]);
        assert_eq!(manifest.hooks, ["generic:document:afterWrite"]);
        assert_eq!(manifest.strategies[0].name, "token");
        assert_eq!(manifest.strategies[0].fields, ["token"]);
    }
}
