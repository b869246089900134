//! An [`Outcome`] as text for a terminal: the verdict, the problem as the CA would
//! word it, then what each perspective contacted.

use std::fmt::Write as _;

use crate::validator::Outcome;

impl Outcome {
    /// The outcome as lines of text.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let verdict = if self.valid { "valid" } else { "invalid" };
        let _ = writeln!(out, "{} for {}: {verdict}", self.challenge, self.domain);
        if let Some(problem) = &self.problem {
            let _ = writeln!(out, "  problem: {}", problem.detail);
            let _ = writeln!(out, "  type:    {}", problem.kind.urn());
        }
        for perspective in &self.perspectives {
            let state = if perspective.problem.is_some() {
                "failed"
            } else {
                "passed"
            };
            let from = perspective
                .source
                .map(|s| format!(", from {s}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} ({}{from}): {state}",
                perspective.name, perspective.rir
            );
            if let Some(srv) = &perspective.srv {
                match &srv.fallback {
                    Some(why) => {
                        let _ = writeln!(out, "    SRV: {why}; the usual port is used");
                    }
                    None => {
                        let _ = writeln!(out, "    SRV {}: {}", srv.owner, srv.records.join(", "));
                        for refused in &srv.refused {
                            let _ = writeln!(out, "    refused target: {refused}");
                        }
                    }
                }
            }
            for record in &perspective.records {
                let at = record
                    .address_used
                    .map_or_else(|| "-".to_owned(), |a| a.to_string());
                match &record.url {
                    Some(url) => {
                        let _ = writeln!(out, "    GET {url} at {at} port {}", record.port);
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "    TLS {} at {at} port {}",
                            record.hostname, record.port
                        );
                    }
                }
            }
            if let (Some(problem), true) = (&perspective.problem, self.perspectives.len() > 1) {
                let _ = writeln!(out, "    {}", problem.detail);
            }
        }
        if let Some(quorum) = &self.quorum {
            let _ = writeln!(
                out,
                "  quorum: {} of {} remote perspectives passed ({} required), RIRs: {}",
                quorum.passed.len(),
                quorum.passed.len() + quorum.failed.len(),
                quorum.required,
                quorum.passed_rirs.join(", ")
            );
        }
        out
    }
}
