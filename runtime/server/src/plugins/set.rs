//! One consistent generation of loaded plugins: their controllers, routes, pipes and hooks.
//!
//! A set never changes: a reload builds a new one and swaps it in, so a request that started on
//! a set finishes on it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use palisade_plugins::{Manifest, Plugin};

use super::events::EventName;
use super::plan::{ActionPlan, Plans};
use super::settings::PluginSettings;
use super::strategies::PluginStrategy;
use crate::routes::{Route, RouteTable, Router};

/// A plugin that loaded and initialized, with what it declared.
#[derive(Debug)]
pub struct LoadedPlugin {
    /// The name from its manifest.
    pub name: String,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// SHA-256 of the file, in hex.
    pub hash: String,
    /// The manifest `init` returned.
    pub manifest: Manifest,
    /// The compiled plugin.
    pub plugin: Plugin,
    /// The capabilities and settings the operator granted it.
    pub settings: PluginSettings,
    /// Milliseconds since the Unix epoch when this version was swapped in.
    pub loaded_at: u64,
    /// Whether its compiled code came from the on-disk cache.
    pub compiled_from_cache: bool,
}

/// An event listener: the event name or wildcard pattern, and the plugin.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Event name, possibly with `*` wildcards.
    pub pattern: EventName,
    /// The plugin that runs.
    pub plugin: Arc<LoadedPlugin>,
}

/// The loaded plugins at one point in time.
#[derive(Debug, Default)]
pub struct PluginSet {
    /// Plugins by name.
    pub plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    /// Controllers by name, each with the plugin that provides it.
    controllers: HashMap<String, Arc<LoadedPlugin>>,
    /// Pipes in the order they run: plugins by name, then manifest order.
    pipes: Vec<Listener>,
    /// Hooks, in the same order.
    hooks: Vec<Listener>,
    /// Custom HTTP routes of plugin actions.
    router: Option<Router>,
    /// Authentication strategies by name.
    strategies: BTreeMap<String, PluginStrategy>,
    /// The listened events of each known action.
    plans: Plans,
}

impl PluginSet {
    /// Builds a set from plugins that were already checked against each other. `native_actions`
    /// are the server's own `(controller, action)` pairs, whose events the set plans with those
    /// of the plugins' actions.
    pub fn new(
        plugins: BTreeMap<String, Arc<LoadedPlugin>>,
        native_actions: &[(&str, &str)],
    ) -> Self {
        let mut set = Self::default();
        let mut routes = Vec::new();
        for plugin in plugins.values() {
            for controller in &plugin.manifest.controllers {
                set.controllers
                    .insert(controller.name.clone(), Arc::clone(plugin));
                routes.extend(custom_routes(controller));
            }
            let listeners = |events: &[String]| -> Vec<Listener> {
                events
                    .iter()
                    .map(|event| Listener {
                        pattern: EventName::new(event),
                        plugin: Arc::clone(plugin),
                    })
                    .collect()
            };
            for strategy in &plugin.manifest.strategies {
                let provided = PluginStrategy {
                    name: strategy.name.clone(),
                    plugin: Arc::clone(plugin),
                };
                set.strategies.insert(strategy.name.clone(), provided);
            }
            set.pipes.extend(listeners(&plugin.manifest.pipes));
            set.hooks.extend(listeners(&plugin.manifest.hooks));
        }
        if !routes.is_empty() {
            set.router = Some(Router::new(RouteTable::from_routes(routes)));
        }
        set.plugins = plugins;
        if !set.has_no_listeners() {
            let plugin_actions = set.controllers().flat_map(|(controller, actions)| {
                actions.into_iter().map(move |action| (controller, action))
            });
            let actions = native_actions.iter().copied().chain(plugin_actions);
            let plans = Plans::new(&set, actions);
            set.plans = plans;
        }
        set
    }

    /// Returns whether no plugin listens to any event, so requests can skip the event steps.
    pub fn has_no_listeners(&self) -> bool {
        self.pipes.is_empty() && self.hooks.is_empty()
    }

    /// Returns the plugin providing `controller`, if any.
    pub fn controller(&self, controller: &str) -> Option<&Arc<LoadedPlugin>> {
        self.controllers.get(controller)
    }

    /// Returns whether a plugin provides `controller:action`.
    pub fn has_action(&self, controller: &str, action: &str) -> bool {
        self.controller(controller).is_some_and(|plugin| {
            plugin
                .manifest
                .controllers
                .iter()
                .filter(|declared| declared.name == controller)
                .any(|declared| declared.actions.iter().any(|a| a.name == action))
        })
    }

    /// Lists every plugin controller with its action names.
    pub fn controllers(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        self.plugins.values().flat_map(|plugin| {
            plugin.manifest.controllers.iter().map(|controller| {
                let actions = controller.actions.iter().map(|a| a.name.as_str()).collect();
                (controller.name.as_str(), actions)
            })
        })
    }

    /// Returns the strategy named `name`, if a plugin provides it.
    pub fn strategy(&self, name: &str) -> Option<&PluginStrategy> {
        self.strategies.get(name)
    }

    /// Lists the plugins' strategies, by name.
    pub fn strategies(&self) -> impl Iterator<Item = &PluginStrategy> {
        self.strategies.values()
    }

    /// Returns the router of the plugins' custom HTTP routes.
    pub fn router(&self) -> Option<&Router> {
        self.router.as_ref()
    }

    /// Returns the pipes listening to `event`, in order.
    pub fn pipes_for<'a>(&'a self, event: &'a str) -> impl Iterator<Item = &'a Listener> {
        self.pipes
            .iter()
            .filter(move |listener| listener.pattern.matches(event))
    }

    /// Returns the hooks listening to `event`, in order.
    pub fn hooks_for<'a>(&'a self, event: &'a str) -> impl Iterator<Item = &'a Listener> {
        self.hooks
            .iter()
            .filter(move |listener| listener.pattern.matches(event))
    }

    /// Returns the listened events of `controller:action`.
    pub fn plan(&self, controller: &str, action: &str) -> Cow<'_, ActionPlan> {
        self.plans.get(self, controller, action)
    }
}

/// Returns the HTTP routes an action declared besides its default one. A path without a leading
/// `/` is relative to `/_/<kebab-controller>/`.
fn custom_routes(controller: &palisade_plugins::Controller) -> Vec<Route> {
    let prefix = format!("/_/{}", kebab_case(&controller.name));
    controller
        .actions
        .iter()
        .flat_map(|action| {
            let prefix = prefix.clone();
            action.http.iter().map(move |route| Route {
                verb: route.verb.to_ascii_uppercase(),
                path: if route.path.starts_with('/') {
                    route.path.clone()
                } else {
                    format!("{prefix}/{}", route.path)
                },
                controller: controller.name.clone(),
                action: action.name.clone(),
                deprecated_since: None,
            })
        })
        .collect()
}

/// `sayHello` becomes `say-hello`.
pub fn kebab_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_splits_words() {
        assert_eq!(kebab_case("sayHello"), "say-hello");
        assert_eq!(kebab_case("greeting"), "greeting");
    }
}
