//! Finding the external programs the lab runs (pebble, lego, certbot), and the Debian
//! package that ships each.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::LabError;

/// Directories searched after `PATH`.
const EXTRA_DIRS: [&str; 2] = ["/usr/sbin", "/usr/bin"];

/// The command that installs everything the lab can use, for messages.
pub const INSTALL_HINT: &str = "apt-get install pebble lego certbot";

/// The path of `program` on `PATH`, in `/usr/sbin` or in `/usr/bin`; `None` when it is
/// not installed.
pub(crate) fn find(program: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
}

/// [`find`], or [`LabError::MissingProgram`] naming the package to install.
///
/// # Errors
///
/// When the program is not installed.
pub(crate) fn require(program: &'static str) -> Result<PathBuf, LabError> {
    find(program).ok_or(LabError::MissingProgram {
        program,
        package: package_of(program),
    })
}

/// The Debian package that ships `program` (each has the program's name).
fn package_of(program: &'static str) -> &'static str {
    program
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_names_its_package() {
        let error = require("acme-srv-lab-no-such-program").err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("apt-get install acme-srv-lab-no-such-program"),
            "{text}"
        );
    }

    #[test]
    fn finds_a_program_in_usr_bin() {
        assert!(find("sh").is_some());
    }
}
