use super::*;

fn err(text: &str) -> String {
    match parse("t.toml", text).and_then(|c| c.validate("t.toml").map(|()| c)) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn empty_file_gives_defaults() {
    let config = parse("t.toml", "").unwrap();
    config.validate("t.toml").unwrap();
    assert_eq!(config.relay.other_requests, OtherRequests::RedirectHttps);
    assert_eq!(config.relay.limits.max_response_bytes, 1024);
    assert_eq!(config.challenge.http01_label, "_acme-challenge._tcp");
    assert!(config.targets.allow_ports.iter().any(|p| p.contains(8080)));
    assert!(!config.targets.allow_ports.iter().any(|p| p.contains(22)));
}

#[test]
fn unknown_key_names_file_key_and_line() {
    let e = err("[relay]\nlisten = [\"127.0.0.1:80\"]\nlistn = 1\n");
    assert!(e.starts_with("t.toml: relay.listn: "), "{e}");
    assert!(e.contains("unknown field `listn`"), "{e}");
    assert!(e.contains("line 3"), "{e}");
}

#[test]
fn bad_value_names_the_nested_key() {
    let e = err("[relay.connections]\nmax = \"many\"\n");
    assert!(e.starts_with("t.toml: relay.connections.max: "), "{e}");
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn bad_domain_pattern_is_refused() {
    let e = err("[challenge]\nallow_domains = [\"ok.test\", \"bad name\"]\n");
    assert!(e.contains("challenge.allow_domains"), "{e}");
    assert!(e.contains("bad name"), "{e}");
}

#[test]
fn bad_network_port_and_duration_are_refused() {
    assert!(
        err("[targets]\nallow_networks = [\"10.0.0.0/33\"]\n").contains("targets.allow_networks")
    );
    assert!(err("[targets]\nallow_ports = [\"0\"]\n").contains("targets.allow_ports"));
    assert!(err("[targets]\nallow_ports = [\"90-80\"]\n").contains("first port is above"));
    assert!(err("[relay.timeouts]\nconnect = \"soon\"\n").contains("relay.timeouts.connect"));
    assert!(err("[relay.timeouts]\nconnect = \"0s\"\n").contains("must be longer than zero"));
    assert!(
        err("[relay.upstream]\nresponse_timeout = \"0s\"\n")
            .contains("relay.upstream.response_timeout: must be longer than zero")
    );
}

#[test]
fn upstream_mode_needs_an_app() {
    let e = err("[relay]\nother_requests = \"upstream\"\n");
    assert!(e.contains("relay.upstream.default"), "{e}");
    let e =
        err("[relay]\nother_requests = \"upstream\"\n[relay.upstream]\ndefault = \"https://x\"\n");
    assert!(e.contains("only http://"), "{e}");
}

#[test]
fn syntax_error_has_a_location() {
    let e = err("[relay\n");
    assert!(e.starts_with("t.toml: (file): "), "{e}");
    assert!(e.contains("line 1"), "{e}");
}

#[test]
fn missing_file_names_the_file() {
    let e = load(Path::new("/nonexistent/acme-srv.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/nonexistent/acme-srv.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn shipped_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/acme-srv.example.toml");
    let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.challenge.allow_domains.is_empty());
}

#[test]
fn dns_and_api_tables_are_optional_and_checked() {
    let config = parse("t.toml", "").unwrap();
    assert!(config.dns.is_none() && config.api.is_none() && !config.relay_table_present);

    let text = "[relay]\n[dns]\nlisten = [\"127.0.0.1:5353\"]\n[[dns.zones]]\norigin = \"Acme.Example.com.\"\n[api]\nacme_dns_zone = \"auth.acme.example.com\"\n[store]\nurl = \"sqlite://data/x.sqlite\"\n";
    let config = parse("t.toml", text).unwrap();
    config.validate("t.toml").unwrap();
    assert!(config.relay_table_present);
    assert_eq!(config.dns.as_ref().unwrap().zones[0].soa.minimum, 60);
    assert_eq!(config.api.as_ref().unwrap().txt_keep, 2);

    let e = err("[dns]\n[[dns.zones]]\norigin = \"a.test\"\n[[dns.zones]]\norigin = \"A.test.\"\n");
    assert!(
        e.contains("dns.zones[1].origin") && e.contains("listed twice"),
        "{e}"
    );
    let e =
        err("[dns]\n[[dns.zones]]\norigin = \"a.test\"\n[api]\nacme_dns_zone = \"other.test\"\n");
    assert!(
        e.contains("api.acme_dns_zone") && e.contains("not inside a zone"),
        "{e}"
    );
    let e = err("[store]\nurl = \"mysql://u:secret@x/db\"\n");
    assert!(
        e.contains("store.url") && e.contains("\"mysql\"") && !e.contains("secret"),
        "{e}"
    );
    for accepted in ["postgres://acme:pw@db:5432/acme", "postgresql://db/acme"] {
        let text = format!("[store]\nurl = \"{accepted}\"\n");
        let config = parse("t.toml", &text).unwrap();
        assert_eq!(config.store.url, accepted);
        config.validate("t.toml").unwrap();
    }
    let e = err("[dns]\n[[dns.zones]]\norigin = \"a.test\"\nserial = 5\n");
    assert!(
        e.contains("dns.zones") && e.contains("unknown field `serial`"),
        "{e}"
    );
}

#[test]
fn connection_and_rate_limit_values_are_checked_with_their_key() {
    let e = err("[api]\n[api.connections]\nclient_ipv6_prefix = 129\n");
    assert!(
        e.contains("api.connections.client_ipv6_prefix: must be 0 to 128"),
        "{e}"
    );
    let e = err("[relay.connections]\nidle_timeout = \"0s\"\n");
    assert!(
        e.contains("relay.connections.idle_timeout: must be longer than zero"),
        "{e}"
    );
    let e = err("[dns]\n[dns.rate_limit]\nipv4_prefix = 33\n");
    assert!(
        e.contains("dns.rate_limit.ipv4_prefix: must be 0 to 32"),
        "{e}"
    );
    let e = err("[relay.limits]\nmax_connections = 5\n");
    assert!(e.contains("unknown field `max_connections`"), "{e}");
}

/// Configured names go through the one domain-name parser: a port, a wildcard or a name
/// that only ends like a zone is refused where a name is expected (a port used to be
/// dropped silently, as from a `Host` value).
#[test]
fn configured_names_are_domain_names() {
    for (text, key) in [
        (
            "[dns]\n[[dns.zones]]\norigin = \"a.test:53\"\n",
            "dns.zones[0].origin",
        ),
        (
            "[dns]\n[[dns.zones]]\norigin = \"*.a.test\"\n",
            "dns.zones[0].origin",
        ),
        (
            "[dns]\n[[dns.tsig_keys]]\nname = \"k.a.test:53\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0c2VjcmV0c2VjcmV0\"\n",
            "dns.tsig_keys[0].name",
        ),
        (
            "[challenge]\nallow_domains = [\"*.a.test:80\"]\n",
            "challenge.allow_domains",
        ),
        (
            "[router]\nlisten = [\"127.0.0.1:443\"]\n[[router.backends]]\nserver_names = [\"www.a.test:443\"]\naddress = \"b.test:443\"\n",
            "router.backends[0].server_names",
        ),
    ] {
        let e = err(text);
        assert!(e.contains(key), "{key}: {e}");
    }
    // Inside a zone means at or below it by whole labels.
    let e = err("[dns]\n[[dns.zones]]\norigin = \"a.test\"\n[api]\nacme_dns_zone = \"xa.test\"\n");
    assert!(e.contains("not inside a zone"), "{e}");
    let text =
        "[dns]\n[[dns.zones]]\norigin = \"A.test.\"\n[api]\nacme_dns_zone = \"Auth.a.test\"\n";
    let config = parse("t.toml", text).unwrap();
    config.validate("t.toml").unwrap();
}
