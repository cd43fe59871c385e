//! Config loading: the JSON files, their locations, key claims and typed decoding.

mod claims;
mod decode;
mod document;
mod load;
mod path;
mod scan;
mod section;
mod text;

pub use claims::{Claim, Support, check_claims, core_claims};
pub use decode::{decode, suggest};
pub use document::{Document, kind_of};
pub use load::{ConfigSet, MAX_CONFIG_BYTES};
pub use path::{JsonPath, Segment};
pub use section::Section;
pub use text::{
    check_free_text, check_single_line, check_strings, describe_char, excerpt, forbidden_char,
    normalize_path,
};
