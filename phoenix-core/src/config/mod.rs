//! Config loading: the JSON files, their locations, key claims and typed decoding.

mod claims;
mod decode;
mod document;
mod load;
mod path;
mod scan;
mod section;

pub use claims::{Claim, Support, check_claims, core_claims};
pub use decode::{decode, suggest};
pub use document::{Document, kind_of};
pub use load::ConfigSet;
pub use path::{JsonPath, Segment};
pub use section::Section;
