//! What the operator allowed a plugin: all or part of what it requested.

use crate::{Capability, HttpOrigin, Manifest};
use std::collections::BTreeSet;

/// The capabilities an operator granted a plugin.
///
/// A grant can only be built from the plugin's manifest, and only within
/// what the manifest requests: it can never be wider than the request, and
/// nothing can widen it after it is built. The one thing an operator names
/// that the manifest does not list is an HTTP origin for a plugin whose
/// manifest says `operator-origins = true`: the request is then "these
/// hosts, and the services you point me at", and the grant lists each
/// origin the operator chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    capabilities: Vec<Capability>,
}

/// How much of one requested capability a grant covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// All of it.
    Full,
    /// Part of it: these hosts, these kinds, this smaller quota.
    Partial(Capability),
    /// None of it.
    None,
}

/// A grant asked for something the plugin did not request, or was
/// malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// Not a grant the host knows.
    #[error(
        "`{0}` is not a grant; use `all`, `catalog:read`, `catalog:write:<Kind>`, `storage`, \
         `storage:<size>`, `http:<host>` (`http:http://<host>` for plain HTTP), `analytics:read` \
         or `rbac:admin`"
    )]
    Unknown(String),
    /// More than the plugin asked for.
    #[error(
        "cannot grant `{grant}`: plugin `{plugin}` does not request it (it requests: {requested})"
    )]
    NotRequested {
        /// The grant as written.
        grant: String,
        /// The plugin.
        plugin: String,
        /// What it does request.
        requested: String,
    },
}

impl Grant {
    /// Grants nothing.
    pub fn none() -> Grant {
        Grant {
            capabilities: Vec::new(),
        }
    }

    /// Grants everything the manifest requests (its listed hosts only: an
    /// origin of the operator's choosing is always named).
    pub fn all_requested(manifest: &Manifest) -> Grant {
        let mut granted = Vec::new();
        for capability in manifest.capabilities.iter().filter_map(as_granted) {
            merge(&mut granted, capability);
        }
        granted.sort();
        Grant {
            capabilities: granted,
        }
    }

    /// Grants what the operator chose, written as in the config file:
    /// `all`, `catalog:read`, `catalog:write:Component`, `storage` (the
    /// requested quota), `storage:256KiB` (less), `http:api.github.com`,
    /// `analytics:read`, `rbac:admin`. Each must be within the request;
    /// `http:<origin>` may also name an origin the manifest does not list
    /// when it requests `operator-origins`, so `["all",
    /// "http:sonar.internal:9000"]` grants everything requested and one
    /// more origin.
    pub fn select(manifest: &Manifest, chosen: &[String]) -> Result<Grant, GrantError> {
        let mut granted: Vec<Capability> = if chosen.iter().any(|c| c == "all") {
            Grant::all_requested(manifest).capabilities
        } else {
            Vec::new()
        };
        for spec in chosen.iter().filter(|c| *c != "all") {
            let capability = within_request(manifest, spec)?;
            merge(&mut granted, capability);
        }
        granted.sort();
        Ok(Grant {
            capabilities: granted,
        })
    }

    /// The granted capabilities, in a stable order.
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    /// The storage quota, when storage was granted.
    pub fn storage_quota(&self) -> Option<u64> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::Storage { quota } => Some(*quota),
            _ => None,
        })
    }

    /// Whether the plugin may read the catalog.
    pub fn allows_catalog_read(&self) -> bool {
        self.capabilities.contains(&Capability::CatalogRead)
    }

    /// Whether the plugin may write entities of `kind`.
    pub fn allows_catalog_write(&self, kind: &str) -> bool {
        self.capabilities.iter().any(|c| match c {
            Capability::CatalogWrite { kinds } => {
                kinds.iter().any(|k| k.eq_ignore_ascii_case(kind))
            }
            _ => false,
        })
    }

    /// Whether the plugin may send requests to `origin`, written in
    /// [`HttpOrigin`]'s short form (`api.github.com`, `host:9000`,
    /// `http://10.0.0.5:8080`): scheme, host and port must all match a
    /// granted one.
    pub fn allows_http(&self, origin: &str) -> bool {
        let Ok(origin) = HttpOrigin::parse(origin) else {
            return false;
        };
        let origin = origin.to_string();
        self.http_origins().any(|granted| *granted == origin)
    }

    /// Every origin granted, in canonical short form.
    fn http_origins(&self) -> impl Iterator<Item = &String> {
        self.capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Http { hosts, .. } => Some(hosts),
                _ => None,
            })
            .flatten()
    }

    /// The origins granted beyond those `requested` (the manifest's `http`
    /// capability) lists: the ones an operator added, which consent pages
    /// show apart. Empty for any other capability.
    pub fn added_origins(&self, requested: &Capability) -> BTreeSet<String> {
        let Capability::Http { hosts, .. } = requested else {
            return BTreeSet::new();
        };
        self.http_origins()
            .filter(|origin| !hosts.contains(*origin))
            .cloned()
            .collect()
    }

    /// How much of `requested` (one of the manifest's capabilities) this
    /// grant covers, for showing operators what a plugin may do.
    pub fn coverage(&self, requested: &Capability) -> Coverage {
        match requested {
            Capability::Storage { quota } => match self.storage_quota() {
                Some(granted) if granted >= *quota => Coverage::Full,
                Some(granted) => Coverage::Partial(Capability::Storage { quota: granted }),
                None => Coverage::None,
            },
            // Only operator origins requested: covered once one is added.
            Capability::Http { hosts, .. } if hosts.is_empty() => {
                match self.http_origins().next() {
                    Some(_) => Coverage::Full,
                    None => Coverage::None,
                }
            }
            Capability::Http { hosts, .. } => subset(
                hosts,
                |h| self.allows_http(h),
                |hosts| Capability::Http {
                    hosts,
                    operator_origins: false,
                },
            ),
            Capability::CatalogWrite { kinds } => subset(
                kinds,
                |k| self.allows_catalog_write(k),
                |kinds| Capability::CatalogWrite { kinds },
            ),
            other if self.capabilities.contains(other) => Coverage::Full,
            _ => Coverage::None,
        }
    }

    /// Whether the plugin may read usage analytics.
    pub fn allows_analytics_read(&self) -> bool {
        self.capabilities.contains(&Capability::AnalyticsRead)
    }

    /// Whether it may administer roles and policies (for users who may).
    pub fn allows_rbac_admin(&self) -> bool {
        self.capabilities.contains(&Capability::RbacAdmin)
    }
}

/// Coverage of a requested set of hosts or kinds: the members `allowed`
/// lets through, as the capability `part` makes of them.
fn subset(
    requested: &BTreeSet<String>,
    allowed: impl Fn(&str) -> bool,
    part: impl FnOnce(BTreeSet<String>) -> Capability,
) -> Coverage {
    let granted: BTreeSet<String> = requested
        .iter()
        .filter(|item| allowed(item))
        .cloned()
        .collect();
    if granted.len() == requested.len() {
        Coverage::Full
    } else if granted.is_empty() {
        Coverage::None
    } else {
        Coverage::Partial(part(granted))
    }
}

fn requested_list(manifest: &Manifest) -> String {
    if manifest.capabilities.is_empty() {
        return "nothing".to_owned();
    }
    manifest
        .capabilities
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The grant strings that grant `capability` whole: the inverse of the
/// syntax [`Grant::select`] reads (`catalog:write:<Kind>` and
/// `http:<host>` once per kind or host).
pub fn grant_specs(capability: &Capability) -> Vec<String> {
    match capability {
        Capability::CatalogRead => vec!["catalog:read".into()],
        Capability::CatalogWrite { kinds } => {
            kinds.iter().map(|k| format!("catalog:write:{k}")).collect()
        }
        Capability::Storage { .. } => vec!["storage".into()],
        Capability::Http { hosts, .. } => hosts.iter().map(|h| format!("http:{h}")).collect(),
        Capability::AnalyticsRead => vec!["analytics:read".into()],
        Capability::RbacAdmin => vec!["rbac:admin".into()],
    }
}

/// The capability `spec` names, if the manifest requests at least that much.
fn within_request(manifest: &Manifest, spec: &str) -> Result<Capability, GrantError> {
    let not_requested = || GrantError::NotRequested {
        grant: spec.to_owned(),
        plugin: manifest.id.to_string(),
        requested: requested_list(manifest),
    };
    let requested = |pick: &dyn Fn(&Capability) -> bool| {
        manifest.capabilities.iter().find(|c| pick(c)).cloned()
    };
    let (name, argument) = match spec.split_once(':') {
        Some((name, argument)) => (name, Some(argument)),
        None => (spec, None),
    };
    let capability = match (name, argument) {
        ("catalog", Some("read")) => requested(&|c| *c == Capability::CatalogRead),
        ("analytics", Some("read")) => requested(&|c| *c == Capability::AnalyticsRead),
        ("rbac", Some("admin")) => requested(&|c| *c == Capability::RbacAdmin),
        ("catalog", Some(write)) if write.starts_with("write:") => {
            let kind = &write["write:".len()..];
            requested(&|c| matches!(c, Capability::CatalogWrite { kinds } if kinds.iter().any(|k| k.eq_ignore_ascii_case(kind))))
                .map(|_| Capability::CatalogWrite { kinds: BTreeSet::from([kind.to_owned()]) })
        }
        ("storage", None) => requested(&|c| matches!(c, Capability::Storage { .. })),
        ("storage", Some(size)) => {
            let quota: bytesize::ByteSize = size
                .parse()
                .map_err(|_| GrantError::Unknown(spec.to_owned()))?;
            requested(&|c| matches!(c, Capability::Storage { quota: q } if quota.as_u64() <= *q))
                .map(|_| Capability::Storage {
                    quota: quota.as_u64(),
                })
        }
        ("http", Some(host)) => {
            let host = HttpOrigin::parse(host)
                .map_err(|_| GrantError::Unknown(spec.to_owned()))?
                .to_string();
            requested(&|c| {
                matches!(c, Capability::Http { hosts, operator_origins }
                    if *operator_origins || hosts.contains(&host))
            })
            .map(|_| Capability::Http {
                hosts: BTreeSet::from([host.clone()]),
                operator_origins: false,
            })
        }
        _ => return Err(GrantError::Unknown(spec.to_owned())),
    };
    capability.ok_or_else(not_requested)
}

/// A requested capability as a grant of all of it holds it: an `http`
/// grant lists its origins and carries no promise of more (so a request
/// for operator origins alone grants nothing until one is named).
fn as_granted(capability: &Capability) -> Option<Capability> {
    match capability {
        Capability::Http { hosts, .. } if hosts.is_empty() => None,
        Capability::Http { hosts, .. } => Some(Capability::Http {
            hosts: hosts.clone(),
            operator_origins: false,
        }),
        other => Some(other.clone()),
    }
}

/// Adds `capability` to `granted`, merging host and kind lists.
fn merge(granted: &mut Vec<Capability>, capability: Capability) {
    for existing in granted.iter_mut() {
        match (existing, &capability) {
            (Capability::Http { hosts, .. }, Capability::Http { hosts: more, .. }) => {
                hosts.extend(more.iter().cloned());
                return;
            }
            (Capability::CatalogWrite { kinds }, Capability::CatalogWrite { kinds: more }) => {
                kinds.extend(more.iter().cloned());
                return;
            }
            (existing, capability) if existing == capability => return,
            _ => {}
        }
    }
    granted.push(capability);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::from_toml(
            r#"
            id = "p"
            name = "P"
            version = "1.0.0"
            tier = "open"
            [capabilities]
            catalog = { read = true, write = ["Component", "API"] }
            storage = { quota = "1 MiB" }
            http = { hosts = ["api.github.com", "sonar.example.com", "http://10.0.0.5:8080"] }
            "#,
        )
        .expect("valid manifest")
    }

    fn grant(specs: &[&str]) -> Result<Grant, GrantError> {
        Grant::select(
            &manifest(),
            &specs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn the_specs_of_each_requested_capability_grant_it_whole() {
        let manifest = manifest();
        for capability in &manifest.capabilities {
            let grant =
                Grant::select(&manifest, &grant_specs(capability)).expect("within the request");
            assert_eq!(grant.coverage(capability), Coverage::Full, "{capability}");
        }
    }

    #[test]
    fn grants_part_of_the_request() {
        let grant =
            grant(&["http:api.github.com", "catalog:write:Component"]).expect("within request");
        assert!(grant.allows_http("API.GITHUB.COM"));
        assert!(!grant.allows_http("sonar.example.com"));
        assert!(grant.allows_catalog_write("component"));
        assert!(!grant.allows_catalog_write("API"));
        assert!(!grant.allows_catalog_read());
        assert_eq!(grant.storage_quota(), None);
    }

    #[test]
    fn an_http_grant_is_for_one_scheme_host_and_port() {
        let granted = grant(&["http:API.github.com:443", "http:http://10.0.0.5:8080"])
            .expect("within request");
        assert!(granted.allows_http("api.github.com"));
        assert!(granted.allows_http("https://api.github.com:443"));
        assert!(!granted.allows_http("http://api.github.com"));
        assert!(!granted.allows_http("api.github.com:8443"));
        assert!(granted.allows_http("http://10.0.0.5:8080"));
        assert!(
            !granted.allows_http("10.0.0.5:8080"),
            "not over TLS: not granted"
        );
        assert!(!granted.allows_http("http://10.0.0.5"));
        assert!(matches!(
            grant(&["http:10.0.0.5:8080"]),
            Err(GrantError::NotRequested { .. })
        ));
        assert!(matches!(
            grant(&["http:api.github.com/v3"]),
            Err(GrantError::Unknown(_))
        ));
    }

    #[test]
    fn grants_everything_requested_with_all() {
        let grant = grant(&["all"]).expect("all");
        assert!(grant.allows_catalog_read());
        assert_eq!(grant.storage_quota(), Some(1 << 20));
    }

    #[test]
    fn refuses_to_grant_more_than_requested() {
        for spec in [
            "http:evil.example.com",
            "analytics:read",
            "rbac:admin",
            "storage:2MiB",
            "catalog:write:Group",
        ] {
            let err = grant(&[spec]).unwrap_err();
            assert!(
                matches!(err, GrantError::NotRequested { .. }),
                "{spec}: {err}"
            );
            assert!(err.to_string().contains("requests: catalog:read"), "{err}");
        }
    }

    #[test]
    fn grants_a_smaller_storage_quota() {
        assert_eq!(
            grant(&["storage:64KiB"]).expect("smaller").storage_quota(),
            Some(64 * 1024)
        );
    }

    #[test]
    fn tells_full_partial_and_missing_coverage_apart() {
        let manifest = manifest();
        let grant = grant(&["http:api.github.com", "storage:64KiB", "catalog:read"])
            .expect("within request");
        let coverage: Vec<Coverage> = manifest
            .capabilities
            .iter()
            .map(|c| grant.coverage(c))
            .collect();
        assert!(coverage.contains(&Coverage::Full), "catalog:read");
        assert!(coverage.contains(&Coverage::Partial(Capability::Storage { quota: 64 * 1024 })));
        assert!(coverage.contains(&Coverage::Partial(Capability::Http {
            hosts: BTreeSet::from(["api.github.com".to_owned()]),
            operator_origins: false,
        })));
        assert!(coverage.contains(&Coverage::None), "catalog:write");
    }

    /// A plugin whose address the operator chooses: GitHub by default,
    /// anything else the operator names.
    fn pointed_by_the_operator(http: &str) -> Manifest {
        Manifest::from_toml(&format!(
            "id = \"q\"\nname = \"Q\"\nversion = \"1.0.0\"\ntier = \"open\"\n\
             [capabilities]\ncatalog = {{ read = true }}\nhttp = {http}"
        ))
        .expect("valid manifest")
    }

    fn specs(specs: &[&str]) -> Vec<String> {
        specs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_plugin_without_operator_origins_cannot_be_granted_an_unlisted_origin() {
        for spec in ["http:sonar.internal:9000", "http:http://127.0.0.1:9000"] {
            let err = grant(&[spec]).unwrap_err();
            assert!(
                matches!(err, GrantError::NotRequested { .. }),
                "{spec}: {err}"
            );
            let with_all = grant(&["all", spec]).unwrap_err();
            assert!(
                matches!(with_all, GrantError::NotRequested { .. }),
                "all, {spec}: {with_all}"
            );
        }
    }

    #[test]
    fn an_operator_may_grant_origins_the_manifest_does_not_list_when_it_asks_for_them() {
        let manifest =
            pointed_by_the_operator("{ hosts = [\"api.github.com\"], operator-origins = true }");
        let grant = Grant::select(
            &manifest,
            &specs(&[
                "http:Sonar.Internal:9000",
                "http:http://10.1.2.3:9000",
                "catalog:read",
            ]),
        )
        .expect("operator origins are within the request");
        assert!(grant.allows_http("sonar.internal:9000"));
        assert!(grant.allows_http("http://10.1.2.3:9000"));
        assert!(!grant.allows_http("sonar.internal"), "another port");
        assert!(!grant.allows_http("api.github.com"), "not granted");
        let requested = &manifest.capabilities[1];
        assert_eq!(
            grant.added_origins(requested),
            BTreeSet::from(["sonar.internal:9000".into(), "http://10.1.2.3:9000".into()])
        );
        assert_eq!(
            grant.coverage(requested),
            Coverage::None,
            "of the listed host"
        );
        assert!(grant.added_origins(&manifest.capabilities[0]).is_empty());
    }

    #[test]
    fn an_operator_origin_must_still_be_one_exact_origin() {
        let manifest = pointed_by_the_operator("{ operator-origins = true }");
        for spec in [
            "http:*.example.com",
            "http:https://sonar.example.com/api",
            "http:sonar.example.com:0",
            "http:ftp://sonar.example.com",
        ] {
            assert!(
                matches!(
                    Grant::select(&manifest, &specs(&[spec])),
                    Err(GrantError::Unknown(_))
                ),
                "{spec} was accepted"
            );
        }
    }

    #[test]
    fn all_grants_the_listed_hosts_and_any_origins_named_beside_it() {
        let manifest =
            pointed_by_the_operator("{ hosts = [\"api.github.com\"], operator-origins = true }");
        let all = Grant::select(&manifest, &specs(&["all"])).expect("all");
        assert!(all.allows_http("api.github.com"));
        assert!(all.added_origins(&manifest.capabilities[1]).is_empty());
        assert_eq!(
            all.capabilities()[1].to_string(),
            "http (api.github.com)",
            "a grant promises no more origins"
        );
        let more = Grant::select(&manifest, &specs(&["all", "http:ghe.example.com"]))
            .expect("all and one more origin");
        assert!(more.allows_http("api.github.com") && more.allows_http("ghe.example.com"));
        assert!(more.allows_catalog_read());
        assert_eq!(
            more.coverage(&manifest.capabilities[1]),
            Coverage::Full,
            "of the listed host"
        );
    }

    #[test]
    fn a_request_for_operator_origins_alone_is_covered_once_one_is_named() {
        let manifest = pointed_by_the_operator("{ operator-origins = true }");
        let requested = &manifest.capabilities[1];
        assert!(grant_specs(requested).is_empty(), "nothing to tick");
        let all = Grant::select(&manifest, &specs(&["all"])).expect("all");
        assert_eq!(all.coverage(requested), Coverage::None);
        assert!(!all.allows_http("api.github.com"));
        let named = Grant::select(&manifest, &specs(&["http:jenkins.internal"])).expect("named");
        assert_eq!(named.coverage(requested), Coverage::Full);
    }

    #[test]
    fn refuses_unknown_grants() {
        assert!(matches!(grant(&["root"]), Err(GrantError::Unknown(_))));
        assert!(matches!(grant(&["http"]), Err(GrantError::Unknown(_))));
    }

    #[test]
    fn grants_nothing_by_default() {
        let none = Grant::none();
        assert!(
            !none.allows_catalog_read()
                && none.storage_quota().is_none()
                && !none.allows_http("api.github.com")
        );
    }
}
