//! Log lines written to the server's logs, tagged with the plugin's name.

use crate::bindings::palisade::plugin::log::{Level, write};

/// Writes a trace line.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Writes a debug line.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Writes an info line.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Writes a warning line.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Writes an error line.
pub fn error(message: &str) {
    write(Level::Error, message);
}
