//! Geographic pieces of the filter language: geopoint notations, distance units and shapes.

mod distance;
mod point;
mod prepared;
mod shape;

pub use distance::parse_distance;
pub(crate) use point::parse_float;
pub use point::{GeoPoint, parse_geopoint};
pub use prepared::{PreparedPoint, PreparedShape};
pub use shape::{GeoShape, Polygon};
