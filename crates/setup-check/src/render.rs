//! The text form of a [`Report`]: one block per step, its status first, each finding
//! on its own line with `fix:` under every problem, and a last line with the counts and
//! the exit status. Plain ASCII markers, no colour, so it reads the same in a terminal,
//! a log and an email.

use std::fmt::Write as _;

use crate::report::{Report, Status};

/// The width of the status column (`[warning]` and a space).
const STATUS_WIDTH: usize = 10;

/// Renders `report` as text (ends with a newline).
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "acme-srv check {}", report.domain);
    let indent = " ".repeat(STATUS_WIDTH);
    for step in &report.steps {
        let marker = format!("[{}]", step.status);
        let _ = writeln!(out, "\n{marker:<STATUS_WIDTH$}{}", step.title);
        for finding in &step.findings {
            let bullet = match finding.status {
                Status::Ok => "-",
                Status::Skipped => "~",
                Status::Warning => "!",
                Status::Error => "x",
            };
            let _ = writeln!(out, "{indent}{bullet} {}", finding.message);
            if let Some(fix) = &finding.fix {
                let _ = writeln!(out, "{indent}  fix: {fix}");
            }
        }
    }
    let errors = report.count(Status::Error);
    let warnings = report.count(Status::Warning);
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let verdict = match report.status {
        Status::Error => "validation is expected to fail",
        Status::Warning => "validation may work; read the warnings",
        Status::Ok | Status::Skipped => "everything checked is ready",
    };
    let _ = writeln!(
        out,
        "\nResult: {} with errors, {} with warnings: {verdict} (exit status {}).",
        plural(errors, "step"),
        plural(warnings, "step"),
        report.exit_code()
    );
    out
}
