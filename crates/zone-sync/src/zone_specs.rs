//! From `[[dns.zones]]` to the DNS server's zone specifications.

use std::str::FromStr;

use anyhow::Context;
use config::{DnsConfig, ZoneConfig};
use dns_server::ZoneSpec;
use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::SOA;
use hickory_proto::serialize::txt::Parser;

/// A zone origin as the API compares names: IDNA to ASCII, lowercase, no trailing dot
/// (the configuration was validated, so normalisation succeeds).
pub(crate) fn origin_text(origin: &str) -> String {
    srv_scheme::normalize_host(origin)
        .unwrap_or_else(|_| origin.trim_end_matches('.').to_ascii_lowercase())
}

/// An absolute name from configuration text (a trailing dot is optional; IDNA names are
/// converted to ASCII).
fn absolute(name: &str) -> anyhow::Result<Name> {
    let text = format!("{}.", origin_text(name));
    Name::from_str(&text).with_context(|| format!("{name:?} is not a domain name"))
}

/// The zone specifications for every configured zone.
pub(crate) fn zone_specs(dns: &DnsConfig) -> anyhow::Result<Vec<ZoneSpec>> {
    dns.zones
        .iter()
        .enumerate()
        .map(|(i, zone)| {
            zone_spec(zone).with_context(|| format!("dns.zones[{i}] ({})", zone.origin))
        })
        .collect()
}

fn zone_spec(zone: &ZoneConfig) -> anyhow::Result<ZoneSpec> {
    let origin = absolute(&zone.origin)?;
    if let Some(path) = &zone.zone_file {
        let mut spec = ZoneSpec::from_zone_file(path, origin.clone())
            .with_context(|| format!("loading zone file {}", path.display()))?;
        spec.static_records
            .extend(static_records(&origin, &zone.records)?);
        return Ok(spec);
    }
    let ns: Vec<Name> = if zone.ns.is_empty() {
        vec![origin.prepend_label("ns1")?]
    } else {
        zone.ns
            .iter()
            .map(|n| absolute(n))
            .collect::<anyhow::Result<_>>()?
    };
    let soa = &zone.soa;
    let mname = match &soa.mname {
        Some(m) => absolute(m)?,
        None => ns[0].clone(),
    };
    let rname = match &soa.rname {
        Some(r) => absolute(r)?,
        None => origin.prepend_label("hostmaster")?,
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
        static_records: static_records(&origin, &zone.records)?.into(),
    })
}

/// Parses `records` (zone-file lines relative to `origin`).
fn static_records(
    origin: &Name,
    records: &[String],
) -> anyhow::Result<Vec<hickory_proto::rr::Record>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!("$TTL 3600\n{}\n", records.join("\n"));
    let (_, sets) = Parser::new(text, None, Some(origin.clone()))
        .parse()
        .map_err(|e| anyhow::anyhow!("static records: {e}"))?;
    Ok(sets
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .collect())
}
