//! schemathesis against the served OpenAPI document, every check enabled: the server
//! must accept what the document allows, refuse what it does not, and answer only as it
//! documents.
//!
//! Needs the `schemathesis` command (`pip install schemathesis`; `tests/run` installs
//! it). Missing, it fails with a clear message unless `ACME_SRV_SKIP_INTEROP=1`.

use std::process::Stdio;
use std::time::Duration;

use test_support::programs;

use crate::harness::{ADMIN, Api};

/// Test cases per operation and phase: enough to exercise every rule, small enough for a
/// run of well under a minute on a loaded 2-core machine.
const MAX_EXAMPLES: &str = "25";
/// The whole run is killed after this long.
const DEADLINE: Duration = Duration::from_secs(240);

#[tokio::test]
async fn schemathesis_finds_nothing() {
    if programs::interop_opted_out() {
        return;
    }
    let program = match programs::require("schemathesis") {
        Ok(program) => program,
        Err(_) => panic!(
            "the schemathesis test needs the `schemathesis` command, which is not installed: \
             run `pip install schemathesis` (tests/run installs it), or set \
             ACME_SRV_SKIP_INTEROP=1 to skip this test deliberately"
        ),
    };
    let api = Api::start().await;
    let report_dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(program);
    command
        .arg("run")
        .arg(api.url("/v1/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {ADMIN}")])
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", "1"])
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--report-dir"])
        .arg(report_dir.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .current_dir(report_dir.path())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for var in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    let output = tokio::time::timeout(DEADLINE, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran longer than {DEADLINE:?}"))
        .expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found failures ({}):\n{stdout}\n{stderr}",
        output.status
    );
    api.stop().await;
}
