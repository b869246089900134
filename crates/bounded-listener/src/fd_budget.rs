//! File descriptors as a budget: the process limit is raised to its hard limit at start,
//! and each part of `serve` gets a connection cap that fits inside it, so one part
//! exhausting its share can never leave another without descriptors.

use std::io;

/// One part's claim on descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdClaim {
    /// The part's name, for the log line that reports a reduced cap.
    pub name: &'static str,
    /// The connection cap it was configured with.
    pub connections: usize,
    /// Descriptors one of its connections can hold (2 for a relay connection with its
    /// target connection open).
    pub fds_per_connection: usize,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new soft limit.
///
/// # Errors
///
/// When the limit cannot be read or set.
pub fn raise_nofile_limit() -> io::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let hard = current.maximum;
    if current.current != hard {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: hard,
                maximum: hard,
            },
        )
        .map_err(io::Error::from)?;
    }
    let now = getrlimit(Resource::Nofile).current;
    Ok(now.unwrap_or(u64::MAX))
}

/// The connection caps that fit `limit` descriptors after `reserve` (the store, the
/// resolver's sockets, logs, pools): the configured caps when they all fit, else each
/// scaled down in proportion to its claim (at least 1 each).
pub fn fit_caps(limit: u64, reserve: u64, claims: &[FdClaim]) -> Vec<usize> {
    let wanted: u64 = claims
        .iter()
        .map(|c| (c.connections as u64).saturating_mul(c.fds_per_connection as u64))
        .fold(0, u64::saturating_add);
    let available = limit.saturating_sub(reserve);
    if wanted <= available {
        return claims.iter().map(|c| c.connections).collect();
    }
    claims
        .iter()
        .map(|c| {
            let share = u128::from(available) * c.connections as u128 / u128::from(wanted.max(1));
            usize::try_from(share).unwrap_or(usize::MAX).max(1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(name: &'static str, connections: usize, fds: usize) -> FdClaim {
        FdClaim {
            name,
            connections,
            fds_per_connection: fds,
        }
    }

    #[test]
    fn caps_that_fit_are_kept() {
        let claims = [claim("http", 1000, 2), claim("api", 100, 1)];
        assert_eq!(fit_caps(4096, 256, &claims), vec![1000, 100]);
    }

    #[test]
    fn caps_that_do_not_fit_shrink_in_proportion_and_together_fit() {
        let claims = [
            claim("http", 10_000, 2),
            claim("api", 256, 1),
            claim("dns-tcp", 1024, 1),
            claim("admin", 16, 1),
        ];
        let caps = fit_caps(1024, 128, &claims);
        let used: usize = caps
            .iter()
            .zip(&claims)
            .map(|(cap, c)| cap * c.fds_per_connection)
            .sum();
        assert!(used <= 1024 - 128, "{caps:?} use {used}");
        assert!(caps.iter().all(|c| *c >= 1), "{caps:?}");
        assert!(caps[0] > caps[2] && caps[2] > caps[1], "{caps:?}");
    }

    #[test]
    fn raising_the_limit_reaches_the_hard_limit() {
        let soft = raise_nofile_limit().unwrap();
        let limits = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(Some(soft), limits.maximum.or(Some(u64::MAX)));
    }
}
