//! Which kinds of entity each location may provide: Backstage's catalog
//! rules (`catalog.rules` and `catalog.locations[].rules`), with the same
//! shape and the same default.
//!
//! People and groups confer roles: a Group with `parent: platform` and
//! `members: [me]` makes its author a member of `platform`, and a User
//! named like an `[auth] admins` entry with the author's e-mail makes them
//! an administrator. So anyone who can register a location (every signed-in
//! catalog author, through `POST /api/catalog/locations`) must not be able
//! to provide them. As in Backstage, the global rules allow only
//! `Component`, `API` and `Location` unless the operator writes others.
//!
//! Where Greenroom differs: a location the operator registered (in the
//! configuration, with `greenroom catalog import`, or the demo) may provide
//! every kind unless the operator gives it `rules` of its own, and what its
//! Location entities lead to counts as the same location (a `file`
//! location can only read inside its own folder). Plugins' locations are
//! not read, so these rules do not apply to them: the kinds a plugin may
//! write are its grant (`catalog:write:<Kind>`), and the Users and Groups
//! it writes confer nothing unless the operator sets
//! `[catalog] plugin-people-confer-roles`.

use crate::ingest::LocationType;
use crate::store::Location;

/// The origin of locations registered through the REST API: by any
/// catalog author, so only the global rules apply to them.
pub const API_ORIGIN: &str = "api";

/// Backstage's default global rule (`DefaultCatalogRulesEnforcer.defaultRules`):
/// people, groups and everything else that carries authority or structure
/// come only from locations allowed to provide them.
pub const DEFAULT_ALLOWED_KINDS: [&str; 3] = ["Component", "API", "Location"];

/// One rule: the kinds it allows, from the locations it names (all
/// locations when it names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRule {
    /// Kinds, as written (compared in any case).
    pub allow: Vec<String>,
    /// The locations it applies to; `None` is every location.
    pub locations: Option<Vec<LocationMatcher>>,
}

/// A location a rule applies to: by type, and by exact target or glob
/// pattern (Backstage's `{type, target}` / `{type, pattern}`).
#[derive(Debug, Clone)]
pub struct LocationMatcher {
    /// The location type.
    pub kind: LocationType,
    /// The target exactly, or `None` for any target of this type.
    pub target: Option<String>,
    /// A glob over the target.
    pub pattern: Option<globset::GlobMatcher>,
}

impl PartialEq for LocationMatcher {
    fn eq(&self, other: &LocationMatcher) -> bool {
        self.kind == other.kind
            && self.target == other.target
            && self.pattern.as_ref().map(|p| p.glob()) == other.pattern.as_ref().map(|p| p.glob())
    }
}

impl Eq for LocationMatcher {}

impl LocationMatcher {
    /// A matcher for `kind` locations whose target is `target` exactly, or
    /// matches the glob `pattern`, or any target when both are `None`.
    pub fn new(
        kind: LocationType,
        target: Option<String>,
        pattern: Option<&str>,
    ) -> Result<LocationMatcher, String> {
        let pattern = pattern
            .map(|p| {
                globset::Glob::new(p)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| format!("`{p}` is not a glob: {e}"))
            })
            .transpose()?;
        Ok(LocationMatcher {
            kind,
            target,
            pattern,
        })
    }

    fn matches(&self, location: &Location) -> bool {
        self.kind == location.kind
            && self.target.as_ref().is_none_or(|t| *t == location.target)
            && self
                .pattern
                .as_ref()
                .is_none_or(|p| p.is_match(&location.target))
    }
}

/// The rules every refresh and every membership decision follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRules {
    /// `[catalog] rules`: for every location.
    pub global: Vec<CatalogRule>,
    /// Operator-configured locations with `rules` of their own:
    /// `(type, target)` and the kinds they allow (on top of the global
    /// rules).
    pub configured: Vec<(LocationType, String, Vec<String>)>,
    /// Whether Users and Groups written by plugins count for sign-in and
    /// membership (`[catalog] plugin-people-confer-roles`, off by default).
    pub plugin_people_confer_roles: bool,
}

impl Default for CatalogRules {
    fn default() -> CatalogRules {
        CatalogRules {
            global: vec![CatalogRule {
                allow: DEFAULT_ALLOWED_KINDS.map(str::to_owned).to_vec(),
                locations: None,
            }],
            configured: Vec::new(),
            plugin_people_confer_roles: false,
        }
    }
}

/// What a location may provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedKinds {
    /// Every kind: an operator-registered location without rules.
    All,
    /// Only these kinds (as written in the rules, compared in any case).
    Only(Vec<String>),
}

impl AllowedKinds {
    /// Whether `kind` may be provided.
    pub fn allows(&self, kind: &str) -> bool {
        match self {
            AllowedKinds::All => true,
            AllowedKinds::Only(kinds) => kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)),
        }
    }

    /// Why `kind` is refused from `location` (`type:target`), Backstage's
    /// `NotAllowedError` in words, or `None` when it is allowed.
    pub fn refusal(&self, kind: &str, location: &str) -> Option<String> {
        let AllowedKinds::Only(kinds) = self else {
            return None;
        };
        if self.allows(kind) {
            return None;
        }
        let allowed = if kinds.is_empty() {
            "none".to_owned()
        } else {
            kinds.join(", ")
        };
        Some(format!(
            "kind {kind} is not allowed from location {location}; allowed: {allowed} \
             (an operator can allow it in [catalog] rules, or under this location in \
             [[catalog.locations]] rules)"
        ))
    }
}

impl CatalogRules {
    /// What `location` may provide.
    pub fn allowed_kinds(&self, location: &Location) -> AllowedKinds {
        if location.kind == LocationType::Plugin {
            // Not read: the plugin's grant says which kinds it writes.
            return AllowedKinds::All;
        }
        let own: Vec<&Vec<String>> = self
            .configured
            .iter()
            .filter(|(kind, target, _)| *kind == location.kind && *target == location.target)
            .map(|(_, _, allow)| allow)
            .collect();
        if own.is_empty() && registered_by_operator(&location.origin) {
            return AllowedKinds::All;
        }
        let mut kinds: Vec<String> = Vec::new();
        let global = self.global.iter().filter(|rule| {
            rule.locations
                .as_ref()
                .is_none_or(|matchers| matchers.iter().any(|m| m.matches(location)))
        });
        for kind in global
            .flat_map(|rule| rule.allow.iter())
            .chain(own.into_iter().flatten())
        {
            if !kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
                kinds.push(kind.clone());
            }
        }
        AllowedKinds::Only(kinds)
    }

    /// Whether entities of `kind` (`user` or `group`) stored from
    /// `location` count for sign-in and membership.
    pub fn confers_roles(&self, location: &Location, kind: &str) -> bool {
        if location.kind == LocationType::Plugin {
            return self.plugin_people_confer_roles;
        }
        self.allowed_kinds(location).allows(kind)
    }
}

/// Whether a location was registered by the operator (configuration,
/// command line, demo) rather than by a catalog author through the API or
/// by a plugin.
pub fn registered_by_operator(origin: &str) -> bool {
    origin != API_ORIGIN && !origin.starts_with("plugin:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(kind: LocationType, target: &str, origin: &str) -> Location {
        Location {
            id: "id".into(),
            kind,
            target: target.into(),
            origin: origin.into(),
        }
    }

    #[test]
    fn by_default_api_locations_provide_only_components_apis_and_locations() {
        let rules = CatalogRules::default();
        let api = location(LocationType::File, "/cat/x.yaml", API_ORIGIN);
        let allowed = rules.allowed_kinds(&api);
        for kind in ["Component", "api", "LOCATION"] {
            assert!(allowed.allows(kind), "{kind}");
        }
        for kind in ["Group", "User", "System", "Resource"] {
            assert!(!allowed.allows(kind), "{kind}");
        }
        let refusal = allowed
            .refusal("Group", "file:/cat/x.yaml")
            .expect("refused");
        assert!(
            refusal.starts_with(
                "kind Group is not allowed from location file:/cat/x.yaml; allowed: Component, API, Location"
            ),
            "{refusal}"
        );
    }

    #[test]
    fn operator_locations_provide_everything_unless_given_rules() {
        let mut rules = CatalogRules::default();
        let config = location(LocationType::File, "/org/org.yaml", "config");
        assert_eq!(rules.allowed_kinds(&config), AllowedKinds::All);
        rules.configured.push((
            LocationType::File,
            "/org/org.yaml".into(),
            vec!["Group".into()],
        ));
        let allowed = rules.allowed_kinds(&config);
        assert!(allowed.allows("group") && allowed.allows("component"));
        assert!(!allowed.allows("user"));
    }

    #[test]
    fn a_configured_target_keeps_its_rules_even_when_an_author_registered_it_first() {
        let mut rules = CatalogRules::default();
        rules.configured.push((
            LocationType::File,
            "/org/x.yaml".into(),
            vec!["User".into()],
        ));
        let api = location(LocationType::File, "/org/x.yaml", API_ORIGIN);
        assert!(rules.allowed_kinds(&api).allows("user"));
        assert!(!rules.allowed_kinds(&api).allows("group"));
    }

    #[test]
    fn global_rules_may_name_locations_by_target_or_pattern() {
        let rules = CatalogRules {
            global: vec![
                CatalogRule {
                    allow: vec!["Component".into()],
                    locations: None,
                },
                CatalogRule {
                    allow: vec!["Template".into()],
                    locations: Some(vec![
                        LocationMatcher::new(
                            LocationType::Url,
                            None,
                            Some("https://git.example.com/templates/*"),
                        )
                        .expect("a glob"),
                    ]),
                },
            ],
            ..CatalogRules::default()
        };
        let templates = location(
            LocationType::Url,
            "https://git.example.com/templates/a.yaml",
            API_ORIGIN,
        );
        let other = location(LocationType::Url, "https://elsewhere/a.yaml", API_ORIGIN);
        assert!(rules.allowed_kinds(&templates).allows("template"));
        assert!(!rules.allowed_kinds(&other).allows("template"));
        assert!(!rules.allowed_kinds(&other).allows("location"));
    }

    #[test]
    fn plugin_people_confer_roles_only_when_the_operator_says_so() {
        let mut rules = CatalogRules::default();
        let plugin = location(LocationType::Plugin, "org-sync", "plugin:org-sync");
        assert!(!rules.confers_roles(&plugin, "group"));
        rules.plugin_people_confer_roles = true;
        assert!(rules.confers_roles(&plugin, "group"));
        let api = location(LocationType::File, "/x.yaml", API_ORIGIN);
        assert!(!rules.confers_roles(&api, "user"));
    }
}
