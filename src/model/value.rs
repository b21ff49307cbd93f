//! [`ValueError`]: why a value written in docker's syntax (a size, a port, a mount, a secret
//! flag, …) is not valid. The parsers of `model` return it; `validate` turns it into a
//! diagnostic at the value's position.

use std::fmt;

/// Why a value is not valid: one line naming the value and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

impl std::ops::Deref for ValueError {
    type Target = str;
    /// The message.
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for ValueError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for ValueError {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

impl From<ValueError> for String {
    fn from(e: ValueError) -> Self {
        e.0
    }
}
