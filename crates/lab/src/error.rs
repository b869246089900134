//! [`LabError`]: everything that can stop the lab, each with its cause kept.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Why the lab could not start, issue a certificate, or keep running.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A program the lab needs is not installed.
    #[error(
        "`{program}` is not installed (not on PATH, in /usr/sbin or /usr/bin): \
         install it with `apt-get install {package}` (the lab uses `apt-get install pebble lego certbot`)"
    )]
    MissingProgram {
        /// The program's name.
        program: &'static str,
        /// The Debian package that ships it.
        package: &'static str,
    },

    /// A file or directory of the lab could not be created, written or read.
    #[error("{what} {}", path.display())]
    File {
        /// What was being done (`writing`, `creating the directory`, ...).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// No free loopback port could be found.
    #[error("finding a free port on 127.0.0.1")]
    NoFreePort(#[source] std::io::Error),

    /// The generated acme-srv configuration did not pass acme-srv's own checks (a bug in
    /// the lab).
    #[error("the lab's acme-srv configuration is invalid")]
    Config(#[source] config::ConfigError),

    /// pebble's TLS certificate could not be made.
    #[error("making the TLS certificate of pebble's HTTPS endpoint")]
    Certificate(#[source] rcgen::Error),

    /// A program could not be started.
    #[error("starting {program} ({command})")]
    Spawn {
        /// Which program.
        program: String,
        /// The command line.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A program exited before it was ready.
    #[error("{program} exited with {status} before it was ready; the end of its log ({}):\n{log_tail}", log.display())]
    ExitedEarly {
        /// Which program.
        program: &'static str,
        /// How it ended.
        status: ExitStatus,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// A program was not ready within its deadline.
    #[error("{program} was not ready within {deadline:?}; the end of its log ({}):\n{log_tail}", log.display())]
    NotReady {
        /// Which program.
        program: &'static str,
        /// How long the lab waited.
        deadline: Duration,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// A program the lab runs stopped while the lab was running.
    #[error("{program} stopped unexpectedly ({status}); the end of its log ({}):\n{log_tail}", log.display())]
    ChildExited {
        /// Which program.
        program: &'static str,
        /// How it ended.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// Waiting for, or signalling, a child process failed.
    #[error("{what} {program}")]
    Process {
        /// What was being done.
        what: &'static str,
        /// Which program.
        program: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A call to the management API failed.
    #[error("management API {method} {path}: {reason}")]
    Api {
        /// The HTTP method.
        method: String,
        /// The path called.
        path: String,
        /// What went wrong (the status and problem detail, or the transport error).
        reason: String,
    },

    /// The ACME client cannot answer the challenge asked for.
    #[error(
        "{client} cannot answer {challenge} in the lab (lego answers http-01 and tls-alpn-01, certbot http-01)"
    )]
    UnsupportedChallenge {
        /// The client.
        client: &'static str,
        /// The challenge.
        challenge: String,
    },

    /// The ACME client failed or did not finish in time.
    #[error("{client} did not get a certificate ({reason}); its output ({}):\n{output}", log.display())]
    Client {
        /// lego or certbot.
        client: &'static str,
        /// Its exit status, or that it timed out.
        reason: String,
        /// The file holding its whole output.
        log: PathBuf,
        /// Its output (the end of it when long).
        output: String,
    },

    /// The issued certificate could not be read or parsed.
    #[error("reading the issued certificate {}: {reason}", path.display())]
    BadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}
