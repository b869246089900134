//! hickory's [`Name`] and the workspace's [`DomainName`], both ways: the one place
//! zone-sync turns a name off the wire (an UPDATE's, a record's, a key's) into the
//! store's text, and the store's text into a name to serve. The normal form itself is
//! `domain-name`'s; hickory's part is only the absolute text form (`example.com.`).

use domain_name::{DomainName, NameError};
use hickory_proto::ProtoError;
use hickory_proto::rr::Name;

/// A name off the wire, as DNS holds it ([`DomainName::parse_dns`]: a `*` first label
/// is a name, digits are labels); what may be written where is the store's rule.
pub(crate) fn from_dns(name: &Name) -> Result<DomainName, NameError> {
    DomainName::parse_dns(&name.to_ascii())
}

/// `name` as an absolute DNS name (`example.com.`).
pub(crate) fn to_dns(name: &DomainName) -> Result<Name, ProtoError> {
    Name::from_ascii(name.to_fqdn_string())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn names_go_both_ways_in_the_normal_form() {
        let wire = Name::from_str("_Acme-Challenge.WWW.Example.TEST.").unwrap();
        let owner = from_dns(&wire).unwrap();
        assert_eq!(owner.as_str(), "_acme-challenge.www.example.test");
        let back = to_dns(&owner).unwrap();
        assert!(back.is_fqdn());
        assert_eq!(back.to_ascii(), "_acme-challenge.www.example.test.");
        assert_eq!(back, wire, "DNS names compare without case");

        let wildcard = Name::from_str("*.example.test.").unwrap();
        assert_eq!(from_dns(&wildcard).unwrap().as_str(), "*.example.test");
        assert_eq!(from_dns(&Name::root()), Err(NameError::Empty));
        let spaced = Name::from_labels(["a b".as_bytes(), b"test"]).unwrap();
        assert!(from_dns(&spaced).is_err());
    }
}
