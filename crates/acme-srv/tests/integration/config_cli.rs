//! `acme-srv config check` and configuration errors at start-up.

use std::io::Write;

use test_support::binary::run_to_end;

const BIN: &str = env!("CARGO_BIN_EXE_acme-srv");

fn example_config() -> String {
    format!(
        "{}/../../deploy/acme-srv.example.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test]
async fn the_shipped_example_config_checks_ok() {
    let (ok, out) = run_to_end(BIN, &["config", "check", &example_config()])
        .await
        .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains(": ok ("), "{out}");
}

#[tokio::test]
async fn the_summary_names_what_serve_runs() {
    let (ok, out) = run_to_end(BIN, &["config", "check", &example_config()])
        .await
        .unwrap();
    assert!(ok, "{out}");
    for part in [
        "relay: 2 listener(s)",
        "dns: 1 zone(s)",
        "api",
        "store: sqlite",
    ] {
        assert!(out.contains(part), "{part:?} missing: {out}");
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "[router]\nlisten = [\"127.0.0.1:8443\"]\ndefault_backend = {{ address = \"127.0.0.1:9443\" }}"
    )
    .unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let (ok, out) = run_to_end(BIN, &["config", "check", &path]).await.unwrap();
    assert!(ok, "{out}");
    assert!(
        out.contains("router: 1 listener(s), 0 named backend(s), default backend: yes"),
        "{out}"
    );
    assert!(
        !out.contains("relay:"),
        "a router-only file is not summarised as a relay: {out}"
    );
}

#[tokio::test]
async fn a_bad_config_names_file_key_and_reason() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "[relay]\nlisten = [\"127.0.0.1:0\"]\n\n[targets]\nallow_ports = [\"70000\"]"
    )
    .unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let (ok, out) = run_to_end(BIN, &["config", "check", &path]).await.unwrap();
    assert!(!ok);
    assert!(
        out.contains(&format!("{path}: targets.allow_ports")),
        "{out}"
    );
    assert!(
        out.contains("not a port") && out.contains("line 5"),
        "{out}"
    );

    // The relay refuses to start with it, with the same message.
    let (ok, out) = run_to_end(BIN, &["relay", "--config", &path])
        .await
        .unwrap();
    assert!(!ok);
    assert!(out.contains("targets.allow_ports"), "{out}");
}

#[tokio::test]
async fn a_missing_file_and_bad_flags_are_clear_errors() {
    let (ok, out) = run_to_end(BIN, &["config", "check", "/nonexistent/acme-srv.toml"])
        .await
        .unwrap();
    assert!(
        !ok && out.contains("/nonexistent/acme-srv.toml: cannot read the file"),
        "{out}"
    );

    let (ok, out) = run_to_end(BIN, &["relay", "--allow-port", "0"])
        .await
        .unwrap();
    assert!(!ok && out.contains("--allow-port"), "{out}");

    let (ok, out) = run_to_end(BIN, &["relay", "--other-requests", "proxy-everything"])
        .await
        .unwrap();
    assert!(
        !ok && out.contains("expected redirect-https, not-found or upstream"),
        "{out}"
    );

    let (ok, out) = run_to_end(
        BIN,
        &[
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--other-requests",
            "upstream",
        ],
    )
    .await
    .unwrap();
    assert!(!ok && out.contains("relay.upstream.default"), "{out}");
}
