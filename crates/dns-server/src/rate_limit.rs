//! Response rate limiting (RRL) for UDP, in the manner of BIND and Knot: a spoofed-source
//! flood cannot turn the server into an amplifier aimed at one network.
//!
//! Each client network (an IPv4 /24 and an IPv6 /56 by default, as BIND) has a token
//! bucket of `responses_per_second`, with a burst of as many. A response beyond it is
//! dropped, except every `slip`-th one, which is sent truncated (header and question, TC
//! set): a real resolver behind that network retries over TCP, which cannot be spoofed,
//! while a victim receives at most a small reply. Unlike BIND, buckets are per client
//! network only, not per (network, answer) pair.
//!
//! Each UDP socket task owns its limiter (an uncontended lock). The buckets are
//! `bounded-listener`'s [`ClientRate`]: at most [`MAX_TRACKED`] networks, refilled ones
//! forgotten when the table is full, and new networks sharing one overflow bucket when
//! none has refilled (so a flood of random spoofed sources is limited as one client).

use std::net::IpAddr;

use bounded_listener::{ClientKey, ClientPrefixes, ClientRate};
use ipnet::IpNet;
use tokio::time::Instant;

/// Networks tracked at once at most.
pub(crate) const MAX_TRACKED: usize = 65_536;

/// How responses are limited.
#[derive(Debug, Clone)]
pub struct RateLimitOptions {
    /// Responses per second per client network (and the burst); 0 disables limiting.
    pub responses_per_second: u32,
    /// Every `slip`-th limited response is sent truncated; 0 drops all of them.
    pub slip: u32,
    /// How client addresses are grouped into networks.
    pub prefixes: ClientPrefixes,
    /// Clients never limited.
    pub exempt: Vec<IpNet>,
}

/// What to do with one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it.
    Send,
    /// Send it truncated (TC, no records).
    Slip,
    /// Send nothing.
    Drop,
}

/// One socket's limiter.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    options: RateLimitOptions,
    buckets: ClientRate,
    limited: u32,
    drops: metrics::Counter,
    slips: metrics::Counter,
}

impl RateLimiter {
    /// A limiter for `options`; `None` when limiting is off.
    pub(crate) fn new(options: &RateLimitOptions) -> Option<Self> {
        let rate = options.responses_per_second;
        (rate > 0).then(|| Self {
            options: options.clone(),
            buckets: ClientRate::new(f64::from(rate), rate, MAX_TRACKED),
            limited: 0,
            drops: metrics::counter!("acme_srv_dns_rate_limited_total", "action" => "drop"),
            slips: metrics::counter!("acme_srv_dns_rate_limited_total", "action" => "slip"),
        })
    }

    /// Whether a response to `client` may go out now (the clock is read only for
    /// clients that are not exempt).
    pub(crate) fn check(&mut self, client: IpAddr) -> Verdict {
        if self.options.exempt.iter().any(|n| n.contains(&client)) {
            return Verdict::Send;
        }
        self.check_at(client, Instant::now())
    }

    /// [`RateLimiter::check`] at `now`.
    pub(crate) fn check_at(&mut self, client: IpAddr, now: Instant) -> Verdict {
        if self.options.exempt.iter().any(|n| n.contains(&client)) {
            return Verdict::Send;
        }
        let key = ClientKey::new(client, self.options.prefixes);
        if self.buckets.try_take(key, now) {
            return Verdict::Send;
        }
        self.limited = self.limited.wrapping_add(1);
        let slip = self.options.slip;
        if slip > 0 && self.limited.is_multiple_of(slip) {
            self.slips.increment(1);
            Verdict::Slip
        } else {
            self.drops.increment(1);
            Verdict::Drop
        }
    }
}

/// Cuts `response` to its header and question and sets TC: what a limited client gets
/// on a slip. `false` when the message is too malformed to cut (then nothing is sent).
pub(crate) fn truncate_to_question(response: &mut Vec<u8>) -> bool {
    const HEADER: usize = 12;
    if response.len() < HEADER {
        return false;
    }
    let questions = u16::from_be_bytes([response[4], response[5]]);
    let mut end = HEADER;
    if questions == 1 {
        // The name: labels up to the root label (a compression pointer cannot occur in
        // the first name of a message), then type and class.
        loop {
            let Some(&len) = response.get(end) else {
                return false;
            };
            if len == 0 {
                end += 1;
                break;
            }
            if len & 0xC0 != 0 {
                return false;
            }
            end += 1 + usize::from(len);
        }
        end += 4;
        if end > response.len() {
            return false;
        }
    } else if questions != 0 {
        return false;
    }
    response.truncate(end);
    response[2] |= 0x02; // TC
    response[6..12].fill(0);
    true
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limiter(rate: u32, slip: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitOptions {
            responses_per_second: rate,
            slip,
            prefixes: ClientPrefixes { ipv4: 24, ipv6: 56 },
            exempt: vec!["127.0.0.0/8".parse().unwrap()],
        })
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_network_gets_its_rate_then_every_slip_th_limited_response_truncated() {
        let mut l = limiter(5, 2);
        let now = Instant::now();
        let verdicts: Vec<_> = (0..9)
            .map(|i| l.check_at(ip(&format!("192.0.2.{i}")), now))
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Send,
                Verdict::Send,
                Verdict::Send,
                Verdict::Send,
                Verdict::Send,
                Verdict::Drop,
                Verdict::Slip,
                Verdict::Drop,
                Verdict::Slip
            ]
        );
        // Another /24 has its own bucket; loopback is exempt.
        assert_eq!(l.check_at(ip("198.51.100.1"), now), Verdict::Send);
        assert!((0..100).all(|_| l.check_at(ip("127.0.0.1"), now) == Verdict::Send));
        // Tokens come back with time.
        let later = now + Duration::from_millis(400);
        assert_eq!(l.check_at(ip("192.0.2.1"), later), Verdict::Send);
        assert_eq!(l.check_at(ip("192.0.2.1"), later), Verdict::Send);
        assert_ne!(l.check_at(ip("192.0.2.1"), later), Verdict::Send);
    }

    #[test]
    fn slip_zero_drops_everything_over_the_rate() {
        let mut l = limiter(1, 0);
        let now = Instant::now();
        assert_eq!(l.check_at(ip("2001:db8::1"), now), Verdict::Send);
        // The same /56.
        assert!((0..10).all(|_| l.check_at(ip("2001:db8:0:ff::9"), now) == Verdict::Drop));
    }

    #[test]
    fn a_slip_keeps_header_and_question_only() {
        let mut msg = vec![0x12, 0x34, 0x84, 0x00, 0, 1, 0, 2, 0, 1, 0, 1];
        msg.extend_from_slice(b"\x01a\x04test\x00\x00\x21\x00\x01");
        let question_end = msg.len();
        msg.extend_from_slice(&[0xc0, 0x0c, 0, 33, 0, 1, 0, 0, 0, 60, 0, 0]);
        assert!(truncate_to_question(&mut msg));
        assert_eq!(msg.len(), question_end);
        assert_eq!(msg[2] & 0x02, 0x02);
        assert_eq!(&msg[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert!(!truncate_to_question(&mut vec![0; 5]));
    }
}
