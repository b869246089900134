//! Fuzz target `config_toml`: arbitrary text parsed as the acme-srv configuration file.
//!
//! Asserts: no panic; parsing is deterministic; an accepted file passes or fails
//! `Config::validate` the same way every time (and so does a clone); every error, from
//! the parser or from `validate`, names the file and a key of the configuration
//! (`file: key: reason`): the key starts with a top-level table, is `(file)`, or is the
//! unknown top-level key the error is about, and has no unnamed (`?`) part.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FILE: &str = "fuzz.toml";
const TABLES: [&str; 9] = [
    "relay",
    "challenge",
    "resolver",
    "targets",
    "log",
    "dns",
    "api",
    "store",
    "admin",
];

fn check_error(error: &config::ConfigError) {
    let key = error.key().expect("parse and validate errors name a key");
    assert!(!key.is_empty(), "empty key in {error}");
    let top = key.split(['.', '[']).next().unwrap_or_default();
    let shown = error.to_string();
    // A top-level key that is not a table is named as itself ("unknown field"); a quoted
    // key may hold dots (`["a.b"]`).
    let unknown_top = shown.contains(&format!("unknown field `{key}`"));
    assert!(
        key == "(file)" || TABLES.contains(&top) || unknown_top,
        "the key {key:?} is not a configuration key: {shown}"
    );
    assert!(
        !key.contains('?'),
        "the key {key:?} has an unnamed part: {shown}"
    );
    assert!(
        shown.starts_with(&format!("{FILE}: {key}: ")),
        "the error does not read `file: key: reason`: {shown}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = config::parse(FILE, text);
    let again = config::parse(FILE, text);
    assert_eq!(
        format!("{parsed:?}"),
        format!("{again:?}"),
        "parse is deterministic"
    );
    match parsed {
        Ok(config) => {
            let first = config.validate(FILE);
            let second = config.clone().validate(FILE);
            assert_eq!(
                first.as_ref().map_err(ToString::to_string),
                second.as_ref().map_err(ToString::to_string),
                "validate is consistent"
            );
            if let Err(error) = &first {
                check_error(error);
            }
        }
        Err(error) => check_error(&error),
    }
});
