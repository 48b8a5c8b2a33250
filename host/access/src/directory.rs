//! From what a sign-in method vouches for (an e-mail address, a user name)
//! to a catalog User and its groups.
//!
//! Matching follows Backstage's sign-in resolvers, by the same names, so an
//! operator moving from Backstage configures the same thing. The catalog
//! is read through its store; every lookup is one indexed statement.

use crate::Identity;
use greenroom_catalog::{CatalogError, CatalogStore, DEFAULT_NAMESPACE, EntityRef};
use std::str::FromStr;

/// The namespace of people the catalog does not list, signed in under
/// `[auth] unknown-users = "allow"`: `user:external/<login>`. Sign-in never
/// matches a catalog entity there, so nobody outside the catalog can take
/// the place of someone in it.
pub const EXTERNAL_NAMESPACE: &str = "external";

/// How a sign-in is matched to a catalog User.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// `emailMatchingUserEntityProfileEmail`: the User whose
    /// `spec.profile.email` is the e-mail address (any case).
    EmailMatchingUserEntityProfileEmail,
    /// `emailLocalPartMatchingUserEntityName`: the User in the default
    /// namespace named as the address's part before `@`.
    EmailLocalPartMatchingUserEntityName,
    /// `usernameMatchingUserEntityName`: the User in the default namespace
    /// named as the user name.
    UsernameMatchingUserEntityName,
    /// `entityRefMatchingUserEntity`: the user name is an entity reference
    /// (`user:team-ns/jane`, `jane`), for a proxy that sends references.
    EntityRefMatchingUserEntity,
}

impl Resolver {
    /// Every resolver, by its configuration name.
    pub const ALL: [(&'static str, Resolver); 4] = [
        (
            "emailMatchingUserEntityProfileEmail",
            Resolver::EmailMatchingUserEntityProfileEmail,
        ),
        (
            "emailLocalPartMatchingUserEntityName",
            Resolver::EmailLocalPartMatchingUserEntityName,
        ),
        (
            "usernameMatchingUserEntityName",
            Resolver::UsernameMatchingUserEntityName,
        ),
        (
            "entityRefMatchingUserEntity",
            Resolver::EntityRefMatchingUserEntity,
        ),
    ];

    /// Its configuration name.
    pub fn name(self) -> &'static str {
        Resolver::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(name, _)| *name)
            .expect("every resolver is in ALL")
    }
}

impl FromStr for Resolver {
    type Err = String;

    fn from_str(text: &str) -> Result<Resolver, String> {
        Resolver::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, r)| *r)
            .ok_or_else(|| {
                let names: Vec<&str> = Resolver::ALL.iter().map(|(n, _)| *n).collect();
                format!(
                    "`{text}` is not a sign-in resolver; use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// What a sign-in method vouches for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// The method's name for itself: `oidc`, `proxy`.
    pub method: &'static str,
    /// A verified e-mail address.
    pub email: Option<String>,
    /// A user name (or, for a proxy, the header's value).
    pub username: Option<String>,
    /// A name to show, if the method gave one.
    pub display_name: Option<String>,
}

impl Claims {
    /// What the person signed in as, for messages and the audit log.
    pub fn login(&self) -> &str {
        self.email
            .as_deref()
            .or(self.username.as_deref())
            .unwrap_or("(nobody)")
    }
}

/// What to do with a sign-in that matches no catalog User.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownUsers {
    /// Refuse it, saying so (the default).
    #[default]
    Refuse,
    /// Let them in as `user:external/<login>`, with no groups.
    Allow,
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A proxy header came from an address not in `trusted-proxies`.
    #[error(
        "the {header} header came from {peer}, which is not one of the trusted proxies \
         ([auth.proxy] trusted-proxies); sign in through the proxy"
    )]
    UntrustedProxy {
        /// The header.
        header: String,
        /// Who sent it.
        peer: String,
    },
    /// The sign-in matched no User.
    #[error(
        "{login} signed in, but no User in the catalog matches ({resolvers}); ask an operator \
         to add you to the catalog"
    )]
    UnknownUser {
        /// What the method vouched for.
        login: String,
        /// The resolvers tried.
        resolvers: String,
    },
    /// The sign-in matched more than one User.
    #[error(
        "{login} matches several Users in the catalog ({}); an operator must make the e-mail \
         addresses unique",
        users.join(", ")
    )]
    AmbiguousUser {
        /// What the method vouched for.
        login: String,
        /// The Users it matched.
        users: Vec<String>,
    },
    /// The method vouched for nothing usable (no e-mail, no name).
    #[error("the sign-in gave neither an e-mail address nor a user name to find you by")]
    NoClaims,
}

/// A person as a session remembers them: enough to read their identity
/// again on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    /// The User's reference (`user:external/…` when not in the catalog).
    pub entity_ref: String,
    /// What the method vouched for.
    pub login: String,
    /// How they signed in: `oidc`, `proxy`.
    pub method: String,
    /// The name to show.
    pub display_name: String,
    /// Their e-mail address.
    pub email: Option<String>,
    /// Whether `entity_ref` is a catalog User, to be read again on every
    /// request (groups change; a removed User is signed out).
    pub in_catalog: bool,
}

/// Sign-in's view of the catalog.
#[derive(Debug, Clone)]
pub struct Directory {
    catalog: CatalogStore,
    unknown_users: UnknownUsers,
}

impl Directory {
    /// Users read from `catalog`; `unknown_users` says what happens to a
    /// sign-in that matches none.
    pub fn new(catalog: CatalogStore, unknown_users: UnknownUsers) -> Directory {
        Directory {
            catalog,
            unknown_users,
        }
    }

    /// Who `claims` are, trying `resolvers` in order: the first that
    /// matches decides. An e-mail address that matches several Users is
    /// refused rather than guessed.
    pub fn match_user(
        &self,
        claims: &Claims,
        resolvers: &[Resolver],
    ) -> Result<Result<SignedInUser, Refusal>, CatalogError> {
        if claims.email.is_none() && claims.username.is_none() {
            return Ok(Err(Refusal::NoClaims));
        }
        for resolver in resolvers {
            let found = match self.candidate(*resolver, claims)? {
                Candidates::None => continue,
                Candidates::Several(users) => {
                    return Ok(Err(Refusal::AmbiguousUser {
                        login: claims.login().to_owned(),
                        users,
                    }));
                }
                Candidates::One(entity_ref) => self.catalog.user(&entity_ref)?,
            };
            if let Some(user) = found {
                return Ok(Ok(SignedInUser {
                    entity_ref: user.entity_ref,
                    login: claims.login().to_owned(),
                    method: claims.method.to_owned(),
                    display_name: user.display_name,
                    email: user.email.or_else(|| claims.email.clone()),
                    in_catalog: true,
                }));
            }
        }
        Ok(match self.unknown_users {
            UnknownUsers::Refuse => Err(Refusal::UnknownUser {
                login: claims.login().to_owned(),
                resolvers: resolvers
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
            UnknownUsers::Allow => Ok(SignedInUser {
                // Separators would make the reference name another
                // namespace or kind.
                entity_ref: format!(
                    "user:{EXTERNAL_NAMESPACE}/{}",
                    claims.login().to_lowercase().replace([':', '/'], "_")
                ),
                login: claims.login().to_owned(),
                method: claims.method.to_owned(),
                display_name: claims
                    .display_name
                    .clone()
                    .unwrap_or_else(|| claims.login().to_owned()),
                email: claims.email.clone(),
                in_catalog: false,
            }),
        })
    }

    fn candidate(&self, resolver: Resolver, claims: &Claims) -> Result<Candidates, CatalogError> {
        let by_name = |name: &str| {
            // A name with a separator would address another namespace.
            if name.is_empty() || name.contains([':', '/']) {
                Candidates::None
            } else {
                Candidates::One(format!("user:{DEFAULT_NAMESPACE}/{name}"))
            }
        };
        Ok(match resolver {
            Resolver::EmailMatchingUserEntityProfileEmail => match &claims.email {
                None => Candidates::None,
                Some(email) => {
                    let mut users = self.catalog.users_by_email(email)?;
                    match users.len() {
                        0 => Candidates::None,
                        1 => Candidates::One(users.remove(0)),
                        _ => Candidates::Several(users),
                    }
                }
            },
            Resolver::EmailLocalPartMatchingUserEntityName => claims
                .email
                .as_deref()
                .and_then(|email| email.split_once('@'))
                .map_or(Candidates::None, |(local, _)| by_name(local)),
            Resolver::UsernameMatchingUserEntityName => {
                claims.username.as_deref().map_or(Candidates::None, by_name)
            }
            Resolver::EntityRefMatchingUserEntity => claims
                .username
                .as_deref()
                .and_then(|text| EntityRef::parse(text, Some("user"), DEFAULT_NAMESPACE).ok())
                .filter(|r| r.kind() == "user" && r.namespace() != EXTERNAL_NAMESPACE)
                .map_or(Candidates::None, |r| Candidates::One(r.key())),
        })
    }

    /// The identity of `user` as the catalog has it now: their groups,
    /// transitively. `None` when a catalog User is gone (removed, or
    /// orphaned by their source): they are signed out.
    pub fn identity(&self, user: &SignedInUser) -> Result<Option<Identity>, CatalogError> {
        if !user.in_catalog {
            return Ok(Some(Identity {
                entity_ref: user.entity_ref.clone(),
                display_name: user.display_name.clone(),
                email: user.email.clone(),
                groups: Vec::new(),
                guest: false,
            }));
        }
        let Some(profile) = self.catalog.user(&user.entity_ref)? else {
            return Ok(None);
        };
        Ok(Some(Identity {
            groups: self.catalog.groups_of(&profile.entity_ref)?,
            entity_ref: profile.entity_ref,
            display_name: profile.display_name,
            email: profile.email.or_else(|| user.email.clone()),
            guest: false,
        }))
    }
}

enum Candidates {
    None,
    One(String),
    Several(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenroom_catalog::{Catalog, CatalogConfig, LocationType};
    use greenroom_store::Database;

    const PEOPLE: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: dept }
spec: { type: department, children: [team] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: jane.doe }
spec:
  profile: { displayName: Jane Doe, email: jane@example.com }
  memberOf: [team]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: twin-1 }
spec: { profile: { email: twins@example.com }, memberOf: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: twin-2 }
spec: { profile: { email: twins@example.com }, memberOf: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: sam, namespace: ops }
spec: { memberOf: [] }
";

    fn directory(unknown: UnknownUsers) -> (tempfile::TempDir, Directory) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
        let file = dir.path().join("people.yaml");
        std::fs::write(&file, PEOPLE).expect("written");
        let catalog = Catalog::new(CatalogStore::new(db), CatalogConfig::default());
        let (_, report) = catalog
            .add_location(LocationType::File, &file.to_string_lossy(), "test", false)
            .expect("reads");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        (dir, Directory::new(catalog.store().clone(), unknown))
    }

    fn email(address: &str) -> Claims {
        Claims {
            method: "oidc",
            email: Some(address.into()),
            ..Claims::default()
        }
    }

    fn username(name: &str) -> Claims {
        Claims {
            method: "proxy",
            username: Some(name.into()),
            ..Claims::default()
        }
    }

    const BY_EMAIL: &[Resolver] = &[Resolver::EmailMatchingUserEntityProfileEmail];

    #[test]
    fn an_email_resolves_to_its_user_with_groups_transitively() {
        let (_dir, directory) = directory(UnknownUsers::Refuse);
        let user = directory
            .match_user(&email("Jane@Example.com"), BY_EMAIL)
            .expect("reads")
            .expect("matches");
        assert_eq!(user.entity_ref, "user:default/jane.doe");
        assert!(user.in_catalog);
        let identity = directory.identity(&user).expect("reads").expect("exists");
        assert_eq!(identity.display_name, "Jane Doe");
        assert_eq!(
            identity.groups,
            ["group:default/dept", "group:default/team"]
        );
        assert_eq!(
            identity.ownership_refs(),
            [
                "user:default/jane.doe",
                "group:default/dept",
                "group:default/team"
            ]
        );
    }

    #[test]
    fn resolvers_are_tried_in_order_and_names_cannot_leave_the_default_namespace() {
        let (_dir, directory) = directory(UnknownUsers::Refuse);
        let local_part = [
            Resolver::EmailMatchingUserEntityProfileEmail,
            Resolver::EmailLocalPartMatchingUserEntityName,
        ];
        let user = directory
            .match_user(&email("jane.doe@elsewhere.example"), &local_part)
            .expect("reads")
            .expect("the local part matches");
        assert_eq!(user.entity_ref, "user:default/jane.doe");
        let by_name = [Resolver::UsernameMatchingUserEntityName];
        assert!(
            directory
                .match_user(&username("jane.doe"), &by_name)
                .expect("reads")
                .is_ok()
        );
        for sneaky in ["ops/sam", "user:ops/sam", "group:default/team"] {
            assert!(
                directory
                    .match_user(&username(sneaky), &by_name)
                    .expect("reads")
                    .is_err(),
                "{sneaky}"
            );
        }
        let by_ref = [Resolver::EntityRefMatchingUserEntity];
        let sam = directory
            .match_user(&username("user:ops/sam"), &by_ref)
            .expect("reads")
            .expect("a reference names its namespace");
        assert_eq!(sam.entity_ref, "user:ops/sam");
        assert!(
            directory
                .match_user(&username("group:default/team"), &by_ref)
                .expect("reads")
                .is_err(),
            "only Users sign in"
        );
    }

    #[test]
    fn an_ambiguous_email_is_refused_not_guessed() {
        let (_dir, directory) = directory(UnknownUsers::Allow);
        let refusal = directory
            .match_user(&email("twins@example.com"), BY_EMAIL)
            .expect("reads")
            .expect_err("refused");
        assert!(matches!(refusal, Refusal::AmbiguousUser { ref users, .. } if users.len() == 2));
    }

    #[test]
    fn unknown_people_are_refused_by_default_and_kept_apart_when_allowed() {
        let (_dir, refusing) = directory(UnknownUsers::Refuse);
        let refusal = refusing
            .match_user(&email("stranger@example.com"), BY_EMAIL)
            .expect("reads")
            .expect_err("refused");
        assert!(
            refusal.to_string().contains("stranger@example.com"),
            "{refusal}"
        );

        let (_dir, allowing) = directory(UnknownUsers::Allow);
        let stranger = allowing
            .match_user(&email("Stranger@example.com"), BY_EMAIL)
            .expect("reads")
            .expect("allowed");
        assert_eq!(stranger.entity_ref, "user:external/stranger@example.com");
        assert!(!stranger.in_catalog);
        let identity = allowing
            .identity(&stranger)
            .expect("reads")
            .expect("exists");
        assert!(identity.groups.is_empty());
        // Naming the external namespace does not reach a catalog entity.
        let by_ref = [Resolver::EntityRefMatchingUserEntity];
        let named = allowing
            .match_user(&username("user:external/jane.doe"), &by_ref)
            .expect("reads")
            .expect("allowed, as a stranger");
        assert!(!named.in_catalog);
    }

    #[test]
    fn a_user_removed_from_the_catalog_has_no_identity() {
        let (_dir, directory) = directory(UnknownUsers::Refuse);
        let mut gone = directory
            .match_user(&email("jane@example.com"), BY_EMAIL)
            .expect("reads")
            .expect("matches");
        gone.entity_ref = "user:default/left.last.year".into();
        assert_eq!(directory.identity(&gone).expect("reads"), None);
    }

    #[test]
    fn resolver_names_are_backstages() {
        for (name, resolver) in Resolver::ALL {
            assert_eq!(name.parse::<Resolver>(), Ok(resolver));
            assert_eq!(resolver.name(), name);
        }
        let error = "emailMatching".parse::<Resolver>().expect_err("unknown");
        assert!(
            error.contains("emailMatchingUserEntityProfileEmail"),
            "{error}"
        );
    }
}
