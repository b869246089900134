//! The lab's directory and the files in it.
//!
//! ```text
//! DIR/acme-srv.toml        the configuration `acme-srv serve` runs with
//! DIR/acme-srv.sqlite      its record store (records, API keys)
//! DIR/acme-srv.log         its log
//! DIR/pebble/ca.pem        the CA of pebble's HTTPS endpoint (clients trust it)
//! DIR/pebble/localhost.pem, localhost.key   pebble's HTTPS certificate and key
//! DIR/pebble/pebble-config.json, pebble.log
//! DIR/lego/                lego's --path (account, certificates/<domain>.crt)
//! DIR/lego.log             lego's output
//! DIR/certbot/{config,work,logs}/   certbot's directories (config/live/<domain>/)
//! DIR/certbot.log          certbot's output
//! ```
//!
//! Without `--dir` the directory is a temporary one, removed when the lab stops unless
//! [`LabDir::keep`] was called.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::LabError;

/// The lab's directory: a temporary one (removed on drop) or one the user named.
#[derive(Debug)]
pub struct LabDir {
    path: PathBuf,
    temporary: Option<TempDir>,
}

impl LabDir {
    /// A new temporary directory (`acme-srv-lab-XXXXXX` in the system's temp folder).
    ///
    /// # Errors
    ///
    /// When it cannot be created.
    pub fn temporary() -> Result<Self, LabError> {
        let temporary = tempfile::Builder::new()
            .prefix("acme-srv-lab-")
            .tempdir()
            .map_err(|source| LabError::File {
                what: "creating a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        Ok(Self {
            path: temporary.path().to_path_buf(),
            temporary: Some(temporary),
        })
    }

    /// `path`, created if missing, kept when the lab stops.
    ///
    /// # Errors
    ///
    /// When it cannot be created or made absolute.
    pub fn at(path: &Path) -> Result<Self, LabError> {
        create_dir(path)?;
        let path = std::fs::canonicalize(path).map_err(|source| LabError::File {
            what: "resolving",
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path,
            temporary: None,
        })
    }

    /// The directory (absolute).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the directory is removed when the lab stops.
    pub fn is_temporary(&self) -> bool {
        self.temporary.is_some()
    }

    /// Keeps a temporary directory after the lab stops (for an issued certificate).
    pub fn keep(&mut self) {
        if let Some(temporary) = self.temporary.take() {
            // `keep` only disarms the removal; the path is already known.
            let _kept = temporary.keep();
        }
    }

    /// The configuration file `acme-srv serve` runs with.
    pub fn config_file(&self) -> PathBuf {
        self.path.join("acme-srv.toml")
    }

    /// The SQLite store.
    pub fn store_file(&self) -> PathBuf {
        self.path.join("acme-srv.sqlite")
    }

    /// acme-srv's log.
    pub fn acme_srv_log(&self) -> PathBuf {
        self.path.join("acme-srv.log")
    }

    /// pebble's directory (its configuration, certificate and log).
    pub fn pebble_dir(&self) -> PathBuf {
        self.path.join("pebble")
    }

    /// The state directory of `client` (`lego` or `certbot`).
    pub fn client_dir(&self, client: &str) -> PathBuf {
        self.path.join(client)
    }

    /// The file holding the output of `client`'s last run.
    pub fn client_log(&self, client: &str) -> PathBuf {
        self.path.join(format!("{client}.log"))
    }
}

/// Creates `path` and its parents.
pub(crate) fn create_dir(path: &Path) -> Result<(), LabError> {
    std::fs::create_dir_all(path).map_err(|source| LabError::File {
        what: "creating the directory",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `contents` to `path`.
pub(crate) fn write_file(path: &Path, contents: &str) -> Result<(), LabError> {
    std::fs::write(path, contents).map_err(|source| LabError::File {
        what: "writing",
        path: path.to_path_buf(),
        source,
    })
}

/// The last `lines` lines of the text file at `path` (a note if it cannot be read).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_directory_goes_unless_kept() -> Result<(), LabError> {
        let dir = LabDir::temporary()?;
        let path = dir.path().to_path_buf();
        assert!(dir.is_temporary() && path.is_dir());
        drop(dir);
        assert!(!path.exists());

        let mut dir = LabDir::temporary()?;
        let path = dir.path().to_path_buf();
        dir.keep();
        drop(dir);
        assert!(path.is_dir());
        std::fs::remove_dir_all(&path).map_err(|source| LabError::File {
            what: "removing",
            path,
            source,
        })
    }

    #[test]
    fn tail_keeps_the_last_lines() -> Result<(), LabError> {
        let dir = LabDir::temporary()?;
        let file = dir.path().join("log");
        write_file(&file, "a\nb\nc\n")?;
        assert_eq!(tail(&file, 2), "b\nc");
        assert_eq!(tail(&file, 10), "a\nb\nc");
        Ok(())
    }
}
