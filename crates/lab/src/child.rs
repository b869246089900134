//! The lab's long-running child processes (`acme-srv serve`, pebble): started with
//! their output in a log file in the lab's directory, killed if dropped, and stopped in
//! order (SIGTERM, then SIGKILL after a grace period).
//!
//! Every child gets an environment without proxy variables, so nothing it does leaves
//! loopback through a proxy configured on the machine, and no standard input.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::LabError;
use crate::dir::tail;

/// Proxy variables removed from every child's environment.
const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
];

/// How many log lines an error message shows.
pub(crate) const LOG_TAIL_LINES: usize = 40;

/// How often a starting program is checked for readiness.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A command for `program`: no proxy variables, no standard input, killed on drop.
pub(crate) fn loopback_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for var in PROXY_VARS {
        command.env_remove(var);
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    command
}

/// Sends standard output and standard error of `command` to the file `log` (truncated),
/// interleaved in the order written.
pub(crate) fn output_to_file(command: &mut Command, log: &Path) -> Result<(), LabError> {
    let file_error = |source| LabError::File {
        what: "creating the log file",
        path: log.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(log).map_err(file_error)?;
    let second = file.try_clone().map_err(file_error)?;
    command
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(second));
    Ok(())
}

/// A running child process whose output goes to a log file.
#[derive(Debug)]
pub(crate) struct RunningChild {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl RunningChild {
    /// Starts `command` (from [`loopback_command`], output set with [`output_to_file`]
    /// to `log`).
    pub(crate) fn spawn(
        name: &'static str,
        mut command: Command,
        log: PathBuf,
    ) -> Result<Self, LabError> {
        let child = command.spawn().map_err(|source| LabError::Spawn {
            program: name.to_owned(),
            command: format!("{:?}", command.as_std()),
            source,
        })?;
        Ok(Self { name, child, log })
    }

    /// The log file.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// `Err(ExitedEarly)` if the process has exited (before it was ready).
    pub(crate) fn check_running(&mut self) -> Result<(), LabError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(self.exited_early(status)),
            Err(source) => Err(LabError::Process {
                what: "checking",
                program: self.name,
                source,
            }),
        }
    }

    /// The error for a process that ended with `status` before it was ready.
    pub(crate) fn exited_early(&self, status: ExitStatus) -> LabError {
        LabError::ExitedEarly {
            program: self.name,
            status,
            log: self.log.clone(),
            log_tail: tail(&self.log, LOG_TAIL_LINES),
        }
    }

    /// The error for a process not ready within `deadline`.
    pub(crate) fn not_ready(&self, deadline: Duration) -> LabError {
        LabError::NotReady {
            program: self.name,
            deadline,
            log: self.log.clone(),
            log_tail: tail(&self.log, LOG_TAIL_LINES),
        }
    }

    /// Waits until the process exits, and describes that as an unexpected stop.
    /// Cancel-safe: the process keeps running if the future is dropped.
    pub(crate) async fn exited(&mut self) -> LabError {
        let status = match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(error) => format!("waiting for it failed: {error}"),
        };
        LabError::ChildExited {
            program: self.name,
            status,
            log: self.log.clone(),
            log_tail: tail(&self.log, LOG_TAIL_LINES),
        }
    }

    /// Stops the process: SIGTERM, then SIGKILL if it is still running after `grace`.
    /// Returns how it ended.
    pub(crate) async fn stop(mut self, grace: Duration) -> Result<ExitStatus, LabError> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Ok(status);
        }
        if let Some(pid) = self
            .child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            // It may have exited since: then the signal fails and the wait below returns.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if let Ok(waited) = tokio::time::timeout(grace, self.child.wait()).await {
            return waited.map_err(|source| self.process_error("waiting for", source));
        }
        self.child
            .kill()
            .await
            .map_err(|source| self.process_error("killing", source))?;
        self.child
            .wait()
            .await
            .map_err(|source| self.process_error("waiting for", source))
    }

    fn process_error(&self, what: &'static str, source: std::io::Error) -> LabError {
        LabError::Process {
            what,
            program: self.name,
            source,
        }
    }
}
