//! The security documents: roles, profiles, users, and the defaults written at first start.

pub mod defaults;
pub mod profile;
pub mod role;
pub mod user;
