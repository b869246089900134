//! [`NameError`]: why a text is not a domain name.

/// Why a text is not a domain name (in the normal form of the crate docs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing left once a trailing dot is removed.
    #[error("empty name")]
    Empty,
    /// An IP address where a host name is expected (a name whose last label is all
    /// digits, as every IPv4 form's is, or an IPv6 literal).
    #[error("an IP address is not a host name")]
    IpLiteral,
    /// IDNA (UTS 46) processing refused the name.
    #[error("not a valid internationalised domain name")]
    Idna,
    /// Longer than [`crate::MAX_NAME_LEN`] characters (without a trailing dot).
    #[error("name longer than {} characters", crate::MAX_NAME_LEN)]
    TooLong,
    /// A label is empty, longer than [`crate::MAX_LABEL_LEN`], or has a character
    /// outside `[a-z0-9_-]` (or is a `*` that is not the first label).
    #[error("invalid label {0:?}")]
    BadLabel(String),
    /// A `*` first label where a host name is expected.
    #[error("a wildcard (a `*` label) is not allowed here")]
    Wildcard,
    /// `*` alone: a wildcard stands for the names below another name.
    #[error("a wildcard needs a name to stand below (`*.example.com`)")]
    BareWildcard,
}
