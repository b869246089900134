//! What one perspective validates with: the shared settings, and its own source address.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::ClientConfig;
use target_resolver::{TargetPolicy, TargetResolver};

use crate::addresses::AddressRules;
use crate::options::ValidatorOptions;

/// Settings every perspective of a validator shares.
pub(crate) struct Shared {
    pub(crate) options: ValidatorOptions,
    pub(crate) rules: AddressRules,
    pub(crate) resolver: TargetResolver,
    /// TLS for `https://` redirects: no ALPN.
    pub(crate) https_client: Arc<ClientConfig>,
    /// TLS for tls-alpn-01: `acme-tls/1` alone.
    pub(crate) alpn_client: Arc<ClientConfig>,
    /// The target policy when SRV records are honoured.
    pub(crate) srv_policy: Option<TargetPolicy>,
}

/// One perspective: the shared settings and which source address it uses.
pub(crate) struct Perspective<'a> {
    shared: &'a Shared,
    index: usize,
}

impl<'a> Perspective<'a> {
    pub(crate) fn new(shared: &'a Shared, index: usize) -> Self {
        Self { shared, index }
    }

    pub(crate) fn options(&self) -> &ValidatorOptions {
        &self.shared.options
    }

    pub(crate) fn rules(&self) -> &AddressRules {
        &self.shared.rules
    }

    pub(crate) fn resolver(&self) -> &TargetResolver {
        &self.shared.resolver
    }

    pub(crate) fn https_client(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.shared.https_client)
    }

    pub(crate) fn alpn_client(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.shared.alpn_client)
    }

    pub(crate) fn srv_policy(&self) -> Option<&TargetPolicy> {
        self.shared.srv_policy.as_ref()
    }

    /// This perspective's source address for connecting to `to`: the configured source
    /// of its turn, when it is of `to`'s family.
    pub(crate) fn source(&self, to: IpAddr) -> Option<IpAddr> {
        let sources = &self.shared.options.perspective_sources;
        if sources.is_empty() {
            return None;
        }
        let source = sources[self.index % sources.len()];
        (source.is_ipv4() == to.is_ipv4()).then_some(source)
    }
}
