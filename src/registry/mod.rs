//! Registries: image reference helpers and credentials.

pub mod credentials;
pub mod reference;

pub use credentials::Credentials;
