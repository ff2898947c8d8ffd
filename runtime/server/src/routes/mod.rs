//! The HTTP route table of Kuzzle's API and the router that matches URLs against it.

mod router;
mod table;

pub use router::{RouteMatch, Router};
pub use table::{Route, RouteTable};
