//! nginx, the reference HTTP server, started on loopback with a test's own server block.
//!
//! The caller writes what goes inside `http { ... }`: one or more `server` blocks whose
//! `listen` is `127.0.0.1:@PORT@` ([`PORT_PLACEHOLDER`]); the harness chooses a free port
//! and substitutes it. For example:
//!
//! ```text
//! server {
//!     listen 127.0.0.1:@PORT@;
//!     location / { return 200 "hello\n"; }
//! }
//! ```
//!
//! The harness writes the rest of the configuration: `daemon off` (the process stays our
//! child), `master_process off` (one process, so killing it leaves no orphaned worker
//! holding the port), the pid file, error log and temporary paths inside a temporary
//! prefix directory, and `access_log off` (a server block may turn it on again). The error
//! log is included in every failure message. Relative paths in the caller's text (a
//! `root`, say) are relative to [`Nginx::prefix`].

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use tempfile::TempDir;

use super::{RunningProgram, free_tcp_port, loopback_command, require};

/// The text in the caller's server block that is replaced by the port nginx listens on.
pub const PORT_PLACEHOLDER: &str = "@PORT@";

/// The `listen` address every caller's text must contain, so nginx stays on loopback.
const LOOPBACK_LISTEN: &str = "127.0.0.1:@PORT@";

/// A running nginx; killed when dropped.
#[derive(Debug)]
pub struct Nginx {
    program: RunningProgram,
    addr: SocketAddr,
    error_log_path: PathBuf,
    prefix: TempDir,
}

impl Nginx {
    /// Starts nginx with `http_block_body` inside its `http { ... }` block, `@PORT@`
    /// replaced by a free port, and returns once that port accepts connections.
    ///
    /// # Errors
    ///
    /// When the text does not listen on `127.0.0.1:@PORT@`, nginx is not installed, or
    /// nginx exits or does not listen in time; the error carries nginx's output and its
    /// error log.
    pub async fn start(http_block_body: &str) -> anyhow::Result<Self> {
        if !http_block_body.contains(LOOPBACK_LISTEN) {
            bail!(
                "the nginx server block must listen on `{LOOPBACK_LISTEN}` (loopback, with the \
                 port placeholder); got:\n{http_block_body}"
            );
        }
        let program_path = require("nginx")?;
        let prefix = tempfile::tempdir().context("creating nginx's prefix directory")?;
        let layout = PrefixLayout::create(prefix.path())?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_tcp_port()));
        let http_block_body = http_block_body.replace(PORT_PLACEHOLDER, &addr.port().to_string());
        std::fs::write(&layout.config, main_config(&layout, &http_block_body))
            .with_context(|| format!("writing {}", layout.config.display()))?;

        let mut command = loopback_command(&program_path);
        command
            .arg("-p")
            .arg(format!("{}/", prefix.path().display()))
            .arg("-c")
            .arg(&layout.config)
            .arg("-e")
            .arg(&layout.error_log)
            .current_dir(prefix.path());
        let mut program = RunningProgram::spawn("nginx", command)?;
        let error_log_path = layout.error_log;
        program
            .wait_until_listening(&[addr], || describe_error_log(&error_log_path))
            .await?;

        Ok(Self {
            program,
            addr,
            error_log_path,
            prefix,
        })
    }

    /// The address nginx listens on, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port that replaced `@PORT@`.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The prefix directory (`-p`): relative paths in the configuration start here.
    pub fn prefix(&self) -> &Path {
        self.prefix.path()
    }

    /// The contents of nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(&self.error_log_path).unwrap_or_default()
    }

    /// What nginx wrote to stdout and stderr, followed by its error log; include it in
    /// failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- nginx output ---\n{}{}",
            self.program.output(),
            describe_error_log(&self.error_log_path)
        )
    }

    /// Kills nginx and waits until it has exited, so its port is free. Dropping it kills
    /// it too.
    ///
    /// # Errors
    ///
    /// When the kill fails.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.program.stop().await
    }
}

/// The files and directories nginx uses inside its prefix.
#[derive(Debug)]
struct PrefixLayout {
    config: PathBuf,
    pid: PathBuf,
    error_log: PathBuf,
    temp: PathBuf,
}

impl PrefixLayout {
    fn create(prefix: &Path) -> anyhow::Result<Self> {
        let layout = Self {
            config: prefix.join("nginx.conf"),
            pid: prefix.join("nginx.pid"),
            error_log: prefix.join("logs").join("error.log"),
            temp: prefix.join("temp"),
        };
        for dir in [prefix.join("logs"), layout.temp.clone()] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(layout)
    }
}

fn main_config(layout: &PrefixLayout, http_block_body: &str) -> String {
    let pid = layout.pid.display();
    let error_log = layout.error_log.display();
    let temp = layout.temp.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {pid};
error_log {error_log} notice;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;

{http_block_body}
}}
"
    )
}

fn describe_error_log(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(log) => format!("--- nginx error log {} ---\n{log}", path.display()),
        Err(error) => format!("(no nginx error log at {}: {error})", path.display()),
    }
}
