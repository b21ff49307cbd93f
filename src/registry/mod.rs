//! Registries: image reference helpers, credentials and digest resolution.

pub mod credentials;
pub mod digest;
pub mod import;
pub mod reference;

pub use credentials::Credentials;
