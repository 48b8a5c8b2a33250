//! Which network addresses the host may connect to when something it does
//! not trust chose the destination: a plugin's outbound request, or a URL
//! written in a catalog file.
//!
//! This crate owns one rule — public unicast only, unless the operator
//! named the destination — so that the broker (plugins' `wasi:http`) and
//! the catalog (url locations and `$text`/`$json`/`$yaml` placeholders)
//! apply the same one. It is pure: it never resolves a name or opens a
//! socket; callers resolve, ask [`public_only`], and connect to an address
//! it returned (never to the name again, so DNS cannot answer one address
//! to the check and another to the connect).

mod address;

pub use address::non_public;

use std::net::{IpAddr, SocketAddr};

/// A name resolved only to addresses that are not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The first such address.
    pub address: IpAddr,
    /// Why it is not public: "a loopback address", ….
    pub reason: &'static str,
}

/// The public addresses among those a name resolved to, in order; `Ok` of
/// an empty list when it resolved to none at all, and [`Refused`] when it
/// resolved only to non-public ones.
pub fn public_only(
    found: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, Refused> {
    let mut public = Vec::new();
    let mut refused = None;
    for address in found {
        match non_public(address.ip()) {
            None => public.push(address),
            Some(reason) => {
                refused.get_or_insert(Refused {
                    address: address.ip(),
                    reason,
                });
            }
        }
    }
    match refused {
        Some(refused) if public.is_empty() => Err(refused),
        _ => Ok(public),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(list: &[&str]) -> Vec<SocketAddr> {
        list.iter()
            .map(|a| SocketAddr::new(a.parse().expect("an address"), 443))
            .collect()
    }

    #[test]
    fn keeps_only_public_addresses_of_a_mixed_answer() {
        let kept = public_only(addresses(&["127.0.0.1", "1.1.1.1", "10.0.0.1"]));
        assert_eq!(kept, Ok(addresses(&["1.1.1.1"])));
    }

    #[test]
    fn refuses_a_name_that_resolved_only_to_private_addresses_naming_the_first() {
        let refused = public_only(addresses(&["169.254.169.254", "127.0.0.1"]));
        assert_eq!(
            refused,
            Err(Refused {
                address: "169.254.169.254".parse().expect("an address"),
                reason: "a link-local address (cloud metadata lives here)",
            })
        );
    }

    #[test]
    fn an_empty_answer_is_not_a_refusal() {
        assert_eq!(public_only(Vec::new()), Ok(Vec::new()));
    }
}
