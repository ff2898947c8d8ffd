//! The events a controller action emits, each with the pipes that run on it, worked out for every
//! known action when a plugin set is built. A request for a known action then builds no event
//! name and matches no pattern, and an action no plugin listens to goes straight to its
//! controller. Only an action that does not exist has its plan worked out per request.

use std::borrow::Cow;
use std::collections::HashMap;

use super::events::capitalized;
use super::generic;
use super::set::{Listener, PluginSet};

/// An event of the request's lifecycle that at least one pipe or hook listens to.
#[derive(Debug, Clone)]
pub struct Step {
    /// The event's name, such as `document:afterGet`.
    pub event: String,
    /// The pipes that run on it, in order.
    pub pipes: Vec<Listener>,
    /// Whether a hook observes it.
    pub has_hooks: bool,
}

impl Step {
    /// Returns the step of `event`, or `None` when nothing listens to it.
    fn new(set: &PluginSet, event: String) -> Option<Self> {
        let pipes: Vec<Listener> = set.pipes_for(&event).cloned().collect();
        let has_hooks = set.hooks_for(&event).next().is_some();
        if pipes.is_empty() && !has_hooks {
            return None;
        }
        Some(Self {
            event,
            pipes,
            has_hooks,
        })
    }

    /// Returns the name of the plugin whose pipe ran last, the one that returned the payload.
    pub fn last_pipe_plugin(&self) -> &str {
        self.pipes
            .last()
            .map_or("", |listener| listener.plugin.name.as_str())
    }
}

/// The listened events of one controller action, in the order a request meets them. `None` is an
/// event nothing listens to.
#[derive(Debug, Default, Clone)]
pub struct ActionPlan {
    /// `request:onAuthorized`.
    pub on_authorized: Option<Step>,
    /// `<controller>:before<Action>`.
    pub before: Option<Step>,
    /// `generic:document:before*`, for document actions whose request carries documents.
    pub generic_before: Option<Step>,
    /// `<controller>:after<Action>`.
    pub after: Option<Step>,
    /// `generic:document:after*`, for document actions.
    pub generic_after: Option<Step>,
    /// `request:onSuccess`.
    pub on_success: Option<Step>,
    /// `<controller>:error<Action>`.
    pub error: Option<Step>,
    /// `request:onError`.
    pub on_error: Option<Step>,
}

impl ActionPlan {
    /// Works out the plan of `controller:action` in `set`.
    pub fn new(set: &PluginSet, controller: &str, action: &str) -> Self {
        let step = |event: String| Step::new(set, event);
        let action_name = capitalized(action);
        let generic = generic::classify(controller, action);

        let generic_before = generic
            .filter(|(_, shape)| shape.has_request_documents())
            .and_then(|(kind, _)| step(format!("generic:document:before{}", kind.name())));
        let generic_after =
            generic.and_then(|(kind, _)| step(format!("generic:document:after{}", kind.name())));
        Self {
            on_authorized: step("request:onAuthorized".to_owned()),
            before: step(format!("{controller}:before{action_name}")),
            generic_before,
            after: step(format!("{controller}:after{action_name}")),
            generic_after,
            on_success: step("request:onSuccess".to_owned()),
            error: step(format!("{controller}:error{action_name}")),
            on_error: step("request:onError".to_owned()),
        }
    }

    /// Returns whether nothing listens to any event of the action.
    pub fn is_empty(&self) -> bool {
        [
            &self.on_authorized,
            &self.before,
            &self.generic_before,
            &self.after,
            &self.generic_after,
            &self.on_success,
            &self.error,
            &self.on_error,
        ]
        .iter()
        .all(|step| step.is_none())
    }
}

/// The plans of one set, by controller then action, so that a lookup allocates nothing.
#[derive(Debug, Default)]
pub struct Plans {
    by_controller: FastMap<FastMap<ActionPlan>>,
}

/// A map by name with a fast hasher, because hashing the two names with SipHash cost more
/// instructions than the rest of a lookup. Its seed is random, as with the standard hasher.
type FastMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

impl Plans {
    /// Works out the plan of each of `actions`, given as `(controller, action)`, in `set`.
    pub fn new<'a>(set: &PluginSet, actions: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut by_controller = FastMap::<FastMap<ActionPlan>>::default();
        for (controller, action) in actions {
            let plan = ActionPlan::new(set, controller, action);
            let plans = by_controller.entry(controller.to_owned()).or_default();
            plans.insert(action.to_owned(), plan);
        }
        Self { by_controller }
    }

    /// Returns the plan of `controller:action`. An action that does not exist, which the
    /// dispatcher rejects, has its plan worked out for the request, so that `error` pipes and
    /// hooks still see it.
    pub fn get(&self, set: &PluginSet, controller: &str, action: &str) -> Cow<'_, ActionPlan> {
        let known = self
            .by_controller
            .get(controller)
            .and_then(|plans| plans.get(action));
        match known {
            Some(plan) => Cow::Borrowed(plan),
            None => Cow::Owned(ActionPlan::new(set, controller, action)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::Arc;

    use palisade_plugins::{Action, Controller, Manifest, PluginHost, PluginHostConfig};

    use super::*;
    use crate::plugins::set::LoadedPlugin;

    const KNOWN_ACTIONS: [(&str, &str); 5] = [
        ("document", "get"),
        ("document", "search"),
        ("document", "mGet"),
        ("auth", "login"),
        ("server", "now"),
    ];
    const COMMON: &str = include_str!("../../../plugins/tests/guests/common.wat");
    const TRAP: &str = include_str!("../../../plugins/tests/guests/trap.wat");

    /// Builds a set of one plugin that declares `pipes`, `hooks` and the controller action
    /// `greeting:sayHello`. Its code is never called.
    fn set_listening_to(pipes: &[&str], hooks: &[&str]) -> PluginSet {
        let host = PluginHost::new(PluginHostConfig::default()).unwrap();
        let guest = palisade_test_harness::wat_component(&TRAP.replace(";;COMMON", COMMON));
        let owned = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
        let plugin = LoadedPlugin {
            name: "listener".to_owned(),
            file: PathBuf::from("listener.wasm"),
            hash: String::new(),
            manifest: Manifest {
                name: "listener".to_owned(),
                version: "1.0.0".to_owned(),
                controllers: vec![Controller {
                    name: "greeting".to_owned(),
                    actions: vec![Action {
                        name: "sayHello".to_owned(),
                        http: Vec::new(),
                    }],
                }],
                pipes: owned(pipes),
                hooks: owned(hooks),
                strategies: Vec::new(),
            },
            plugin: host.load("listener", &guest).unwrap(),
            settings: crate::plugins::settings::PluginSettings::default(),
            loaded_at: 0,
            compiled_from_cache: false,
        };
        let plugins = BTreeMap::from([("listener".to_owned(), Arc::new(plugin))]);
        PluginSet::new(plugins, &KNOWN_ACTIONS)
    }

    fn event(step: Option<&Step>) -> Option<&str> {
        step.map(|step| step.event.as_str())
    }

    #[test]
    fn plans_name_only_the_listened_events() {
        let set = set_listening_to(
            &["document:after*", "generic:document:beforeGet"],
            &["auth:afterLogin"],
        );

        let get = set.plan("document", "get");
        assert_eq!(event(get.after.as_ref()), Some("document:afterGet"));
        assert_eq!(get.after.as_ref().unwrap().last_pipe_plugin(), "listener");
        assert_eq!(
            event(get.generic_before.as_ref()),
            Some("generic:document:beforeGet")
        );
        assert!(get.before.is_none());
        assert!(get.generic_after.is_none());
        assert!(get.on_success.is_none());

        // A search names no document in its request, so it has no `generic:document:before*`.
        let search = set.plan("document", "search");
        assert_eq!(event(search.after.as_ref()), Some("document:afterSearch"));
        assert!(search.generic_before.is_none());

        let login = set.plan("auth", "login");
        let after_login = login.after.as_ref().unwrap();
        assert!(after_login.pipes.is_empty());
        assert!(after_login.has_hooks);

        assert!(set.plan("server", "now").is_empty());
        assert!(!get.is_empty());
    }

    #[test]
    fn plans_name_every_lifecycle_event() {
        let set = set_listening_to(
            &["request:on*", "*:before*", "*:error*", "generic:document:*"],
            &[],
        );

        let get = set.plan("document", "mGet");
        let steps = [
            (&get.on_authorized, "request:onAuthorized"),
            (&get.before, "document:beforeMGet"),
            (&get.generic_before, "generic:document:beforeGet"),
            (&get.generic_after, "generic:document:afterGet"),
            (&get.on_success, "request:onSuccess"),
            (&get.error, "document:errorMGet"),
            (&get.on_error, "request:onError"),
        ];
        for (step, name) in steps {
            assert_eq!(event(step.as_ref()), Some(name));
        }
        assert!(get.after.is_none());

        // A plugin's own action is planned with the set, like a native one.
        let hello = set.plan("greeting", "sayHello");
        assert!(matches!(hello, Cow::Borrowed(_)));
        assert_eq!(
            event(hello.before.as_ref()),
            Some("greeting:beforeSayHello")
        );
        assert_eq!(event(hello.error.as_ref()), Some("greeting:errorSayHello"));
        assert!(hello.generic_before.is_none());
    }

    #[test]
    fn known_actions_are_planned_with_the_set() {
        let set = set_listening_to(&["request:onSuccess"], &[]);

        let known = set.plan("document", "get");
        let unknown = set.plan("document", "notAnAction");

        assert!(matches!(known, Cow::Borrowed(_)));
        assert!(matches!(unknown, Cow::Owned(_)));
        assert_eq!(event(known.on_success.as_ref()), Some("request:onSuccess"));
        assert_eq!(
            event(unknown.on_success.as_ref()),
            Some("request:onSuccess")
        );
    }
}
