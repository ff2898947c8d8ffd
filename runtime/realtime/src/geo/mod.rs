//! Geographic pieces of the filter language: geopoint notations, distance units and shapes.

mod distance;
mod point;
mod shape;

pub use distance::parse_distance;
pub(crate) use point::parse_float;
pub use point::{GeoPoint, parse_geopoint};
pub use shape::{GeoShape, Polygon};
