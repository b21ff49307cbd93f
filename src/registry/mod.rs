//! Registries: image reference helpers, credentials and digest resolution.

pub mod credentials;
pub mod digest;
pub mod import;
pub(crate) mod media;
pub mod reference;

pub use credentials::{CredentialError, Credentials};
