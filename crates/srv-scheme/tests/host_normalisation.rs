//! Property tests for `normalize_host`, the parser every `Host` header goes through:
//! it never panics, its output is a fixed point, and what it accepts is plain ASCII.

use proptest::prelude::*;
use srv_scheme::{DomainPattern, normalize_host};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn never_panics_on_any_text(text in "\\PC{0,300}") {
        let _ = normalize_host(&text);
    }

    #[test]
    fn accepted_names_are_normal_and_stable(text in "[a-zA-Z0-9._:-]{0,80}|[a-zü.]{1,30}") {
        if let Ok(name) = normalize_host(&text) {
            let text = name.as_str();
            prop_assert!(text.is_ascii());
            prop_assert!(!text.ends_with('.'));
            prop_assert!(!text.bytes().any(|b| b.is_ascii_uppercase()));
            prop_assert_eq!(normalize_host(text), Ok(name.clone()));
            let exact: DomainPattern = text.parse().unwrap();
            prop_assert!(exact.matches(&name));
        }
    }

    #[test]
    fn wildcards_never_match_their_own_base(label in "[a-z0-9]{1,20}", base in "[a-z]{1,10}\\.[a-z]{2,5}") {
        let wild: DomainPattern = format!("*.{base}").parse().unwrap();
        let child = normalize_host(&format!("{label}.{base}")).unwrap();
        let base = normalize_host(&base).unwrap();
        let lookalike = normalize_host(&format!("{label}{base}")).unwrap();
        prop_assert!(wild.matches(&child));
        prop_assert!(!wild.matches(&base));
        prop_assert!(!wild.matches(&lookalike));
    }
}
