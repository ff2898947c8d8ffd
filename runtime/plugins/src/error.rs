//! Errors the host returns when a plugin cannot be loaded or a call to it fails.

use std::time::Duration;

/// Cause of a failed plugin call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginFailure {
    /// The call ran past its execution deadline and was interrupted.
    Timeout(Duration),
    /// The instance tried to grow its linear memory beyond the limit, in bytes.
    OutOfMemory(usize),
    /// Instantiating the component failed, for example because every instance slot of the pool
    /// is in use.
    Instantiate(String),
    /// The guest trapped (`unreachable`, an out-of-bounds access, an invalid value...).
    Trap(String),
}

impl std::fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(deadline) => write!(f, "timed out after {} ms", deadline.as_millis()),
            Self::OutOfMemory(limit) => write!(f, "exceeded its memory limit of {limit} bytes"),
            Self::Instantiate(message) => write!(f, "could not be instantiated: {message}"),
            Self::Trap(message) => write!(f, "trapped: {message}"),
        }
    }
}

/// A host-side failure of a plugin: it could not be loaded, or a call to it did not return.
///
/// Errors that the guest returns as values (`api-error`) are not `PluginError`s: the host passes
/// them on unchanged.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The engine could not be created from the host's configuration.
    #[error("creating the plugin engine failed: {message}")]
    Engine {
        /// The cause.
        message: String,
    },
    /// The bytes are not a valid component, or compiling them failed.
    #[error("plugin {plugin}: compiling the component failed: {message}")]
    Compile {
        /// Name of the plugin.
        plugin: String,
        /// The compiler's error.
        message: String,
    },
    /// The component imports something the host does not provide, or misses an export of the
    /// `plugin` world.
    #[error("plugin {plugin}: linking the component failed: {message}")]
    Link {
        /// Name of the plugin.
        plugin: String,
        /// The linker's error.
        message: String,
    },
    /// Instantiating the component or calling one of its functions failed.
    #[error("plugin {plugin}: {function} {failure}")]
    Call {
        /// Name of the plugin.
        plugin: String,
        /// The exported function, such as `lifecycle.init`.
        function: &'static str,
        /// What happened.
        failure: PluginFailure,
    },
}

impl PluginError {
    /// Returns the failure of a call, or `None` for load errors.
    pub fn failure(&self) -> Option<&PluginFailure> {
        match self {
            Self::Call { failure, .. } => Some(failure),
            _ => None,
        }
    }
}
