//! Roles: the controller actions a profile policy grants.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, SecurityError};

/// The wildcard that matches any controller or any action in a role.
pub const WILDCARD: &str = "*";

/// A role: `{controllers: {<controller>|"*": {actions: {<action>|"*": bool}}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Rights by controller name, or by `*` for every controller not listed.
    pub controllers: BTreeMap<String, ControllerRights>,
}

/// The actions a role grants or denies on one controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerRights {
    /// `true` grants the action. `*` applies to every action not listed.
    pub actions: BTreeMap<String, bool>,
}

/// The controller actions the server exposes, used to reject roles that name unknown ones.
#[derive(Debug, Clone, Default)]
pub struct KnownActions {
    controllers: HashMap<String, HashSet<String>>,
}

/// Returns the other name of a controller that has two names (`ms` and `memoryStorage`).
pub(crate) fn controller_alias(controller: &str) -> Option<&'static str> {
    match controller {
        "ms" => Some("memoryStorage"),
        "memoryStorage" => Some("ms"),
        _ => None,
    }
}

impl KnownActions {
    /// Builds the list from `(controller, action)` pairs.
    pub fn new<C, A>(pairs: impl IntoIterator<Item = (C, A)>) -> Self
    where
        C: Into<String>,
        A: Into<String>,
    {
        let mut controllers: HashMap<String, HashSet<String>> = HashMap::new();
        for (controller, action) in pairs {
            controllers
                .entry(controller.into())
                .or_default()
                .insert(action.into());
        }
        Self { controllers }
    }

    fn actions_of(&self, controller: &str) -> Option<&HashSet<String>> {
        self.controllers
            .get(controller)
            .or_else(|| controller_alias(controller).and_then(|alias| self.controllers.get(alias)))
    }

    /// Returns whether the server has this controller.
    pub fn has_controller(&self, controller: &str) -> bool {
        self.actions_of(controller).is_some()
    }

    /// Returns whether the server has this controller action.
    pub fn has_action(&self, controller: &str, action: &str) -> bool {
        self.actions_of(controller)
            .is_some_and(|actions| actions.contains(action))
    }
}

impl Role {
    /// Builds a role that grants every action of every controller.
    pub fn allow_all() -> Self {
        let actions = BTreeMap::from([(WILDCARD.to_owned(), true)]);
        let controllers = BTreeMap::from([(WILDCARD.to_owned(), ControllerRights { actions })]);
        Self { controllers }
    }

    /// Builds a role granting the listed actions, as `(controller, [actions])` pairs.
    pub fn allowing(grants: &[(&str, &[&str])]) -> Self {
        let mut controllers = BTreeMap::new();
        for (controller, actions) in grants {
            let actions = actions
                .iter()
                .map(|action| ((*action).to_owned(), true))
                .collect();
            controllers.insert((*controller).to_owned(), ControllerRights { actions });
        }
        Self { controllers }
    }

    /// Parses and validates a role body.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidRights`] when `controllers` is missing or empty, when a controller
    /// has no non-empty `actions` object, or when a right is not a boolean.
    pub fn from_json(role_id: &str, body: &Value) -> Result<Self> {
        let invalid = |reason: String| SecurityError::InvalidRights {
            role: role_id.to_owned(),
            reason,
        };

        let Some(controllers) = body.get("controllers").and_then(Value::as_object) else {
            return Err(invalid("`controllers` must be an object".to_owned()));
        };
        if controllers.is_empty() {
            return Err(invalid("`controllers` must not be empty".to_owned()));
        }

        let mut parsed = BTreeMap::new();
        for (controller, rights) in controllers {
            let actions = rights.get("actions").and_then(Value::as_object);
            let Some(actions) = actions.filter(|actions| !actions.is_empty()) else {
                return Err(invalid(format!(
                    "controller `{controller}` must have a non-empty `actions` object"
                )));
            };

            let mut parsed_actions = BTreeMap::new();
            for (action, value) in actions {
                let Some(allowed) = value.as_bool() else {
                    return Err(invalid(format!(
                        "right `{controller}:{action}` must be a boolean, not `{value}`"
                    )));
                };
                parsed_actions.insert(action.clone(), allowed);
            }
            let rights = ControllerRights {
                actions: parsed_actions,
            };
            parsed.insert(controller.clone(), rights);
        }
        Ok(Self {
            controllers: parsed,
        })
    }

    /// Checks that every controller and action the role names exists on the server. The `*`
    /// wildcard is always accepted.
    ///
    /// # Errors
    ///
    /// [`SecurityError::UnknownController`] or [`SecurityError::UnknownAction`] for the first
    /// unknown name, in alphabetical order.
    pub fn check_known_actions(&self, role_id: &str, known: &KnownActions) -> Result<()> {
        for (controller, rights) in &self.controllers {
            if controller == WILDCARD {
                continue;
            }
            if !known.has_controller(controller) {
                return Err(SecurityError::UnknownController {
                    role: role_id.to_owned(),
                    controller: controller.clone(),
                });
            }
            for action in rights.actions.keys() {
                if action != WILDCARD && !known.has_action(controller, action) {
                    return Err(SecurityError::UnknownAction {
                        role: role_id.to_owned(),
                        controller: controller.clone(),
                        action: action.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Returns the rights that apply to a controller: its own entry (or its alias's, for
    /// `ms`/`memoryStorage`), else the `*` entry.
    fn rights_for(&self, controller: &str) -> Option<&ControllerRights> {
        self.controllers
            .get(controller)
            .or_else(|| controller_alias(controller).and_then(|alias| self.controllers.get(alias)))
            .or_else(|| self.controllers.get(WILDCARD))
    }

    /// Returns whether the role grants a controller action.
    ///
    /// The controller's own entry wins over `*`, and within it the action's own value wins over
    /// `*`, so `{"document": {"actions": {"delete": false, "*": true}}}` denies `document:delete`.
    pub fn is_action_allowed(&self, controller: &str, action: &str) -> bool {
        let Some(rights) = self.rights_for(controller) else {
            return false;
        };
        let value = rights
            .actions
            .get(action)
            .or_else(|| rights.actions.get(WILDCARD));
        value == Some(&true)
    }

    /// Serializes the role to its stored JSON form.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
