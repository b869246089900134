//! The normal form, host names and DNS names (wildcards, addresses), containment at
//! label boundaries and the walk up, as a caller sees them; and a generated-name check
//! that parsing is a fixed point and containment is the string suffix at a dot.

use domain_name::{DomainName, DomainPattern, NameError, is_at_or_below};

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn normalisation_table() {
    for (text, normal) in [
        ("example.com", "example.com"),
        ("WWW.Example.COM", "www.example.com"),
        ("www.example.com.", "www.example.com"),
        (
            "_Acme-Challenge._TCP.Example.COM.",
            "_acme-challenge._tcp.example.com",
        ),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example.", "xn--bcher-kva.example"),
        // An ideographic full stop separates labels, as in UTS 46.
        ("bücher\u{3002}example", "xn--bcher-kva.example"),
        // ASCII is taken as spelled: an A-label stays, lowercased.
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("a_b.test", "a_b.test"),
        ("localhost", "localhost"),
        ("1.example", "1.example"),
        ("0x7f.example", "0x7f.example"),
    ] {
        assert_eq!(name(text).as_str(), normal, "{text:?}");
        assert_eq!(DomainName::parse_dns(text), Ok(name(text)), "{text:?}");
    }
}

#[test]
fn refused_texts_say_why() {
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    let long = [label63.as_str(); 4].join("."); // 255 characters
    for (text, error) in [
        ("", NameError::Empty),
        (".", NameError::Empty),
        ("a..b", NameError::BadLabel(String::new())),
        (".a", NameError::BadLabel(String::new())),
        ("a.b..", NameError::BadLabel(String::new())),
        ("a b.test", NameError::BadLabel("a b".into())),
        ("a/b.test", NameError::BadLabel("a/b".into())),
        ("a.test:80", NameError::BadLabel("test:80".into())),
        ("caf\u{e9}\u{fffd}.test", NameError::Idna),
        ("\u{301}a.test", NameError::Idna),
        (label64.as_str(), NameError::BadLabel(label64.clone())),
        (long.as_str(), NameError::TooLong),
    ] {
        assert_eq!(DomainName::parse(text), Err(error.clone()), "{text:?}");
        assert_eq!(DomainName::parse_dns(text), Err(error), "{text:?}");
    }
    // The limits themselves are fine.
    let longest = [label63.as_str(), &label63, &label63, &"b".repeat(61)].join(".");
    assert_eq!(longest.len(), 253);
    assert_eq!(name(&longest).as_str(), longest);
    assert_eq!(name(&format!("{longest}.")).as_str(), longest);
    assert_eq!(name(&label63).as_str(), label63);
}

#[test]
fn an_address_is_no_host_name_but_digits_are_dns_labels() {
    for text in [
        "127.0.0.1",
        "127.0.0.1.",
        "127.1",
        "2130706433",
        "example.123",
        // Fullwidth digits are mapped to ASCII digits first.
        "\u{ff11}\u{ff12}\u{ff17}.0.0.1",
    ] {
        assert_eq!(
            DomainName::parse(text),
            Err(NameError::IpLiteral),
            "{text:?}"
        );
        let dns = DomainName::parse_dns(text).expect("labels of digits");
        assert!(!dns.as_str().ends_with('.'), "{dns}");
    }
    for text in ["::1", "[::1]", "[2001:db8::1]"] {
        assert_eq!(
            DomainName::parse(text),
            Err(NameError::IpLiteral),
            "{text:?}"
        );
        assert!(DomainName::parse_dns(text).is_err(), "{text:?}");
    }
    let reverse = name("2.0.192.in-addr.arpa");
    assert_eq!(reverse.parent(), Some(name("0.192.in-addr.arpa")));
    assert!(name("1.example").parent().is_some());
    // A host name's ancestors are host names: the last label stays.
    let deep = name("1.2.3.4.example");
    assert!(
        deep.ancestors()
            .all(|a| DomainName::parse(a.as_str()) == Ok(a.clone()))
    );
}

#[test]
fn wildcards_per_the_rule() {
    // Host names: never.
    assert_eq!(DomainName::parse("*.example.com"), Err(NameError::Wildcard));
    assert_eq!(
        "*.example.com".parse::<DomainName>(),
        Err(NameError::Wildcard)
    );
    // Owner names: a first label `*` above another name.
    let wild = DomainName::parse_dns("*.Example.COM.").expect("a wildcard owner");
    assert_eq!(wild.as_str(), "*.example.com");
    assert!(wild.is_wildcard());
    assert_eq!(wild.parent(), Some(name("example.com")));
    assert!(wild.is_at_or_below(&name("example.com")));
    assert!(!name("www.example.com").is_at_or_below(&wild));
    assert_eq!(
        DomainName::parse_dns("*.bücher.example").map(DomainName::into_string),
        Ok("*.xn--bcher-kva.example".to_owned())
    );
    for parse in [DomainName::parse, DomainName::parse_dns] {
        assert_eq!(
            parse("a.*.example.com"),
            Err(NameError::BadLabel("*".into()))
        );
        assert_eq!(
            parse("**.example.com"),
            Err(NameError::BadLabel("**".into()))
        );
        assert_eq!(
            parse("*a.example.com"),
            Err(NameError::BadLabel("*a".into()))
        );
    }
    assert_eq!(DomainName::parse_dns("*"), Err(NameError::BareWildcard));
    assert_eq!(DomainName::parse_dns("*."), Err(NameError::BareWildcard));
    assert_eq!(DomainName::parse("*"), Err(NameError::Wildcard));
    assert!(!name("example.com").is_wildcard());
}

#[test]
fn containment_is_by_whole_labels() {
    let zone = name("example.com");
    assert!(name("example.com").is_at_or_below(&zone));
    assert!(name("www.example.com").is_at_or_below(&zone));
    assert!(name("_acme-challenge._tcp.a.b.example.com").is_at_or_below(&zone));
    assert!(!name("xexample.com").is_at_or_below(&zone));
    assert!(!name("www.xexample.com").is_at_or_below(&zone));
    assert!(!name("example.com.evil").is_at_or_below(&zone));
    assert!(!name("com").is_at_or_below(&zone));
    assert!(!zone.is_below(&zone));
    assert!(name("a.example.com").is_below(&zone));
    // The text form is the same rule.
    assert!(is_at_or_below("a.example.com", "example.com"));
    assert!(!is_at_or_below("aexample.com", "example.com"));
    assert!(!is_at_or_below(".example.com", "example.com"));
}

#[test]
fn the_walk_up_and_the_forms() {
    let www = name("www.a.example.com");
    let ancestors: Vec<String> = www.ancestors().map(DomainName::into_string).collect();
    assert_eq!(ancestors, ["a.example.com", "example.com", "com"]);
    assert_eq!(www.parent(), Some(name("a.example.com")));
    assert_eq!(name("com").parent(), None);
    assert_eq!(name("com").ancestors().count(), 0);
    assert_eq!(
        www.labels().collect::<Vec<_>>(),
        ["www", "a", "example", "com"]
    );
    assert_eq!(www.labels().next_back(), Some("com"));
    assert_eq!(www.label_count(), 4);
    assert_eq!(www.to_fqdn_string(), "www.a.example.com.");
    assert_eq!(name(&www.to_fqdn_string()), www);
    assert_eq!(www.to_string(), "www.a.example.com");
    assert_eq!(www, "www.a.example.com");
    assert_eq!(String::from(www.clone()), "www.a.example.com");
    // Looked up in a map by its text.
    let map = std::collections::HashMap::from([(www.clone(), 1)]);
    assert_eq!(map.get("www.a.example.com"), Some(&1));
}

#[test]
fn patterns_match_exact_names_and_names_below() {
    let exact: DomainPattern = "Example.com.".parse().expect("exact");
    let below: DomainPattern = "*.example.com".parse().expect("wildcard");
    assert_eq!(exact, DomainPattern::Exact(name("example.com")));
    assert_eq!(below, DomainPattern::Below(name("example.com")));
    assert!(exact.matches(&name("example.com")));
    assert!(!exact.matches(&name("www.example.com")));
    assert!(below.matches(&name("www.example.com")));
    assert!(below.matches(&name("a.b.example.com")));
    assert!(!below.matches(&name("example.com")));
    assert!(!below.matches(&name("badexample.com")));
    assert_eq!(below.base(), &name("example.com"));
    assert_eq!(below.to_string(), "*.example.com");
    assert_eq!(exact.to_string(), "example.com");
    assert_eq!(
        "*.bücher.example"
            .parse::<DomainPattern>()
            .map(|p| p.to_string()),
        Ok("*.xn--bcher-kva.example".to_owned())
    );
    for bad in [
        "*",
        "*.",
        "a.*.example.com",
        "*.*.example.com",
        "*.127.0.0.1",
        "10.0.0.1",
        "example.com:443",
        "",
    ] {
        assert!(bad.parse::<DomainPattern>().is_err(), "{bad:?}");
    }
}

/// A small deterministic generator (xorshift), so the check needs no dependency and
/// every run sees the same names.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).expect("small")
    }

    /// A label of 1-12 characters from a set with upper case, digits, `-`, `_` and a
    /// few non-ASCII letters; never all digits when `last`.
    fn label(&mut self, last: bool) -> String {
        const CHARS: &[char] = &[
            'a', 'b', 'e', 'x', 'm', 'p', 'l', 'E', 'X', 'Z', '0', '1', '9', '-', '_', 'ü', 'é',
        ];
        let len = 1 + self.below(12);
        let mut label: String = (0..len)
            .map(|_| CHARS[self.below(CHARS.len() as u64)])
            .collect();
        if last && label.chars().all(|c| c.is_ascii_digit()) {
            label.push('x');
        }
        label
    }

    fn text(&mut self) -> String {
        let labels = 1 + self.below(5);
        let mut text = (0..labels)
            .map(|i| self.label(i + 1 == labels))
            .collect::<Vec<_>>()
            .join(".");
        if self.below(4) == 0 {
            text.push('.');
        }
        if self.below(8) == 0 {
            text.insert_str(0, "*.");
        }
        text
    }
}

#[test]
fn generated_names_are_fixed_points_and_contain_by_suffix_at_a_dot() {
    let mut generator = Generator(0x9e37_79b9_7f4a_7c15);
    let mut parsed = Vec::new();
    for _ in 0..5000 {
        let text = generator.text();
        let Ok(owner) = DomainName::parse_dns(&text) else {
            continue;
        };
        let normal = owner.as_str();
        assert!(
            normal.is_ascii() && !normal.ends_with('.'),
            "{text:?} -> {normal}"
        );
        assert!(!normal.bytes().any(|b| b.is_ascii_uppercase()), "{normal}");
        let shown = owner.to_string();
        assert_eq!(DomainName::parse_dns(&shown), Ok(owner.clone()));
        assert_eq!(
            DomainName::parse_dns(&owner.to_fqdn_string()),
            Ok(owner.clone())
        );
        assert_eq!(
            DomainName::parse(normal).is_ok(),
            !owner.is_wildcard(),
            "{normal}"
        );
        for ancestor in owner.ancestors() {
            assert_eq!(DomainName::parse(ancestor.as_str()), Ok(ancestor.clone()));
            assert!(owner.is_below(&ancestor), "{owner} below {ancestor}");
        }
        parsed.push(owner);
    }
    assert!(parsed.len() > 2000, "only {} names parsed", parsed.len());
    // Pairs, including lookalikes made by gluing a label onto another name.
    for (i, a) in parsed.iter().enumerate().take(400) {
        let glued = DomainName::parse_dns(&format!("x{a}")).ok();
        let child = DomainName::parse_dns(&format!("x.{a}")).ok();
        let others = parsed
            .iter()
            .skip(i)
            .take(40)
            .chain(glued.iter())
            .chain(child.iter());
        for b in others {
            let by_suffix = b.as_str() == a.as_str() || b.as_str().ends_with(&format!(".{a}"));
            assert_eq!(b.is_at_or_below(a), by_suffix, "{b} at or below {a}");
            assert_eq!(is_at_or_below(b.as_str(), a.as_str()), by_suffix);
            let pattern = DomainPattern::Below(a.clone());
            assert_eq!(pattern.matches(b), by_suffix && a != b);
        }
        if let Some(child) = &child {
            assert!(child.is_below(a));
        }
        if let Some(glued) = &glued {
            assert!(!glued.is_at_or_below(a), "{glued} is not below {a}");
        }
    }
}
