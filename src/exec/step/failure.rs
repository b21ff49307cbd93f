//! [`StepFailure`]: the message an attempt of a step fails with, on the step's stderr with exit
//! code 1, as the docker CLI in acb's build container prints it and exits (`unable to prepare
//! context: …`, `--secret id=…: failed to stat …`). Engine failures stay `EngineError`s.

/// The message an attempt fails with. It never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct StepFailure(String);

impl StepFailure {
    /// A failure with this message, shown as it is.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_shown_as_it_is() {
        let failure = StepFailure::new("unable to prepare context: the Dockerfile x");
        assert_eq!(
            failure.to_string(),
            "unable to prepare context: the Dockerfile x"
        );
    }
}
