//! From `[[dns.zones]]` to the DNS server's zone specifications: names made absolute, the
//! defaults of `ns` and `soa` filled in, a `zone_file` read, and the `records` lines parsed
//! by dns-server's zone-text reader ([`dns_server::parse_records`], which reads zone files
//! too), so static records have one parser whichever way they are given.

use config::{DnsConfig, ZoneConfig};
use dns_server::ZoneSpec;
use domain_name::DomainName;
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, Record};

use crate::{ZoneSyncError, names};

/// The TTL of a `records` line that gives none.
pub const STATIC_RECORD_DEFAULT_TTL: u32 = 3600;

/// A zone origin as the API compares names: the normal form of [`DomainName`] (IDNA to
/// ASCII, lowercase, no trailing dot). The configuration was validated, so the origin
/// parses; a text that does not is returned as it is, and holds no owner (a normalised
/// owner is never at or below it).
pub fn origin_text(origin: &str) -> String {
    DomainName::parse(origin).map_or_else(|_| origin.to_owned(), DomainName::into_string)
}

/// The zone specifications for every configured zone, in order. An error names the
/// configuration key (`dns.zones[0].records[2]`) and the zone.
pub fn zone_specs(dns: &DnsConfig) -> Result<Vec<ZoneSpec>, ZoneSyncError> {
    dns.zones
        .iter()
        .enumerate()
        .map(|(index, zone)| ConfiguredZone { index, zone }.spec())
        .collect()
}

/// One `[[dns.zones]]` entry and its index, which error messages name.
struct ConfiguredZone<'a> {
    index: usize,
    zone: &'a ZoneConfig,
}

impl ConfiguredZone<'_> {
    fn spec(&self) -> Result<ZoneSpec, ZoneSyncError> {
        let zone = self.zone;
        let origin = self.absolute("origin", &zone.origin)?;
        if let Some(path) = &zone.zone_file {
            let mut spec = ZoneSpec::from_zone_file(path, origin.clone()).map_err(|source| {
                ZoneSyncError::ZoneFile {
                    key: self.key("zone_file"),
                    origin: zone.origin.clone(),
                    source: Box::new(source),
                }
            })?;
            spec.static_records.extend(self.static_records(&origin)?);
            return Ok(spec);
        }
        let ns: Vec<Name> = if zone.ns.is_empty() {
            vec![self.below_origin("ns", "ns1", &origin)?]
        } else {
            zone.ns
                .iter()
                .enumerate()
                .map(|(i, name)| self.absolute(&format!("ns[{i}]"), name))
                .collect::<Result<_, _>>()?
        };
        let soa = &zone.soa;
        let mname = match &soa.mname {
            Some(name) => self.absolute("soa.mname", name)?,
            None => ns[0].clone(),
        };
        let rname = match &soa.rname {
            Some(name) => self.absolute("soa.rname", name)?,
            None => self.below_origin("soa.rname", "hostmaster", &origin)?,
        };
        Ok(ZoneSpec {
            origin: origin.clone(),
            soa: SOA::new(
                mname,
                rname,
                0,
                soa.refresh,
                soa.retry,
                soa.expire,
                soa.minimum,
            ),
            soa_ttl: soa.ttl,
            ns,
            static_records: self.static_records(&origin)?.into(),
        })
    }

    /// `dns.zones[<index>].<field>`.
    fn key(&self, field: &str) -> String {
        format!("dns.zones[{}].{field}", self.index)
    }

    /// The absolute name for the configuration text `name` at key `field`: a domain
    /// name ([`DomainName::parse`]: a trailing dot optional, IDNA names converted to
    /// ASCII, no wildcard).
    fn absolute(&self, field: &str, name: &str) -> Result<Name, ZoneSyncError> {
        let error = |source: Box<dyn std::error::Error + Send + Sync>| ZoneSyncError::ZoneName {
            key: self.key(field),
            origin: self.zone.origin.clone(),
            name: name.to_owned(),
            source,
        };
        let parsed = DomainName::parse(name).map_err(|e| error(Box::new(e)))?;
        names::to_dns(&parsed).map_err(|e| error(Box::new(e)))
    }

    /// `label.origin`, the default of the key `field`.
    fn below_origin(&self, field: &str, label: &str, origin: &Name) -> Result<Name, ZoneSyncError> {
        origin
            .prepend_label(label)
            .map_err(|source| ZoneSyncError::ZoneName {
                key: self.key(field),
                origin: self.zone.origin.clone(),
                name: format!("{label}.{}", origin_text(&self.zone.origin)),
                source: Box::new(source),
            })
    }

    /// The `records` lines (zone-file syntax relative to `origin`), parsed as one text
    /// so a line may continue the one before (a blank owner, parentheses).
    fn static_records(&self, origin: &Name) -> Result<Vec<Record>, ZoneSyncError> {
        let lines = &self.zone.records;
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let text = lines.join("\n");
        dns_server::parse_records(origin, STATIC_RECORD_DEFAULT_TTL, &text).map_err(|source| {
            let entry = source.line.and_then(|line| entry_holding_line(lines, line));
            ZoneSyncError::StaticRecord {
                key: match entry {
                    Some(entry) => self.key(&format!("records[{entry}]")),
                    None => self.key("records"),
                },
                origin: self.zone.origin.clone(),
                source,
            }
        })
    }
}

/// The index of the entry of `entries` that holds the 1-based `line` of
/// `entries.join("\n")` (an entry may itself hold several lines).
fn entry_holding_line(entries: &[String], line: usize) -> Option<usize> {
    let mut last_line = 0;
    entries.iter().position(|entry| {
        last_line += entry.matches('\n').count() + 1;
        line <= last_line
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_of_the_joined_text_is_found_in_its_entry() {
        let entries = ["a", "b\nc", "d"].map(str::to_owned);
        let found: Vec<_> = (1..=5)
            .map(|line| entry_holding_line(&entries, line))
            .collect();
        assert_eq!(found, [Some(0), Some(1), Some(1), Some(2), None]);
    }
}
