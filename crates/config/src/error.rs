//! Configuration errors: each names the file, the key and the reason.

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the file: {source}")]
    Read {
        /// Path of the file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key has a bad value, is unknown, or conflicts with another.
    #[error("{file}: {key}: {reason}{}", location.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
    Invalid {
        /// Path of the file (or `command line`).
        file: String,
        /// Dotted key path, e.g. `relay.limits.max_connections`; `(file)` for the
        /// document as a whole.
        key: String,
        /// What is wrong.
        reason: String,
        /// `line L, column C` when known.
        location: Option<String>,
    },
}

impl ConfigError {
    /// Builds an `Invalid` from a TOML error, locating it by the error's span.
    pub(crate) fn from_toml(file: &str, text: &str, key: String, error: &toml::de::Error) -> Self {
        let location = error.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}")
        });
        let key = if key.is_empty() || key == "." {
            "(file)".to_owned()
        } else {
            key
        };
        Self::Invalid {
            file: file.to_owned(),
            key,
            reason: error.message().trim().to_owned(),
            location,
        }
    }

    /// The key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            Self::Read { .. } => None,
        }
    }
}
