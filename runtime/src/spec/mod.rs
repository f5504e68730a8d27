//! Loading and validating a bundle's config.json.
//!
//! Parsing goes through `serde_path_to_error` so a wrong type or an unknown
//! enum value is reported at its JSON pointer; [`validate`] then checks the
//! rules the runtime-spec states in prose (absolute paths, namespace
//! pairing, version) with the same kind of pointer.

mod load;
mod validate;

pub use load::{load_bundle, load_spec_from_slice, Bundle};
pub use validate::validate;
