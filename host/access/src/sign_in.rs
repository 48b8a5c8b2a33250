//! The front door: who a request is from, by whichever sign-in method the
//! operator configured, as a catalog User with their groups.
//!
//! A request is resolved in this order, and the first that applies
//! decides: the proxy header (when `[auth.proxy]` is configured and the
//! request carries it), then the session cookie (set by an OpenID Connect
//! sign-in). With neither, nobody is signed in; the portal may still let
//! them in as the demo guest, which is its decision, not this crate's.

use crate::Identity;
use crate::audit::{AuditEvent, AuditLog, Decision};
use crate::directory::{Claims, Directory, Refusal, Resolver, SignedInUser, UnknownUsers};
use crate::oidc::{OidcError, OidcSignIn, PendingSignIn};
use crate::proxy::{ProxyHeader, ProxySignIn};
use crate::session::{IssuedSession, SessionError, SessionKey, Sessions};
use greenroom_catalog::{CatalogError, CatalogStore};
use greenroom_store::{Database, now_ms};
use http::HeaderMap;
use std::net::IpAddr;
use std::time::Duration;

/// How long a browser has between leaving for the identity provider and
/// coming back: enough to type a password and answer a second factor,
/// short enough that an abandoned tab's state is useless.
pub const PENDING_SIGN_IN_TTL: Duration = Duration::from_secs(600);

/// The purpose sealed into the pending-sign-in cookie.
const PENDING_PURPOSE: &str = "oidc-sign-in";

/// The default lifetime of a session: a working day, after which people
/// sign in again (with an identity provider session, without typing).
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The operator's sign-in settings.
#[derive(Debug)]
pub struct SignInSettings {
    /// Sign-in by a trusted proxy's header.
    pub proxy: Option<ProxySignIn>,
    /// Sign-in with OpenID Connect.
    pub oidc: Option<OidcSignIn>,
    /// What happens to a sign-in that matches no catalog User.
    pub unknown_users: UnknownUsers,
    /// How long a session lasts.
    pub session_lifetime: Duration,
}

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Someone is signed in.
    SignedIn(Identity),
    /// Nobody is.
    Anonymous,
    /// Someone tried, and was refused.
    Refused(Refusal),
}

/// Sign-in failed on the host's side (not the person's).
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Sessions could not be read or written.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The catalog could not be read.
    #[error("cannot read the catalog to find who signed in: {0}")]
    Catalog(#[from] CatalogError),
    /// The identity provider failed.
    #[error(transparent)]
    Oidc(#[from] OidcError),
}

/// The configured sign-in methods, sessions, and the catalog they resolve
/// people in.
#[derive(Debug)]
pub struct SignIn {
    sessions: Sessions,
    directory: Directory,
    proxy: Option<ProxySignIn>,
    oidc: Option<OidcSignIn>,
    audit: AuditLog,
}

impl SignIn {
    /// Sign-in as `settings` configure it: sessions in `db` signed with
    /// `key`, people found in `catalog`, sign-ins audited in `db`.
    pub fn new(
        db: Database,
        catalog: CatalogStore,
        key: SessionKey,
        settings: SignInSettings,
    ) -> SignIn {
        SignIn {
            sessions: Sessions::new(db.clone(), key, settings.session_lifetime),
            directory: Directory::new(catalog, settings.unknown_users),
            proxy: settings.proxy,
            oidc: settings.oidc,
            audit: AuditLog::new(db),
        }
    }

    /// The proxy method, if configured.
    pub fn proxy(&self) -> Option<&ProxySignIn> {
        self.proxy.as_ref()
    }

    /// The OpenID Connect method, if configured.
    pub fn oidc(&self) -> Option<&OidcSignIn> {
        self.oidc.as_ref()
    }

    /// Who a request from `peer` with `headers` and the session cookie
    /// `session` is from. Reads the database: call it off the async
    /// runtime.
    pub fn resolve(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        session: Option<&str>,
    ) -> Result<Resolution, SignInError> {
        if let Some(proxy) = &self.proxy {
            match proxy.read(peer, headers) {
                ProxyHeader::Absent => {}
                ProxyHeader::Untrusted(peer) => {
                    let refusal = Refusal::UntrustedProxy {
                        header: proxy.header.to_string(),
                        peer: peer
                            .map_or_else(|| "an unknown address".to_owned(), |p| p.to_string()),
                    };
                    self.audit_refusal("proxy", None, &refusal);
                    return Ok(Resolution::Refused(refusal));
                }
                ProxyHeader::Trusted(claims) => {
                    // The proxy vouches on every request; nothing to keep.
                    return match self.directory.match_user(&claims, &proxy.resolvers)? {
                        Ok(user) => Ok(self
                            .identity(&user)?
                            .map_or(Resolution::Anonymous, Resolution::SignedIn)),
                        Err(refusal) => {
                            self.audit_refusal("proxy", Some(claims.login()), &refusal);
                            Ok(Resolution::Refused(refusal))
                        }
                    };
                }
            }
        }
        let Some(cookie) = session else {
            return Ok(Resolution::Anonymous);
        };
        let Some(user) = self.sessions.find(cookie)? else {
            return Ok(Resolution::Anonymous);
        };
        match self.identity(&user)? {
            Some(identity) => Ok(Resolution::SignedIn(identity)),
            None => {
                // The User left the catalog (or was orphaned): the session
                // ends with it.
                tracing::info!(user = %user.entity_ref, "signed out: no longer in the catalog");
                self.sessions.end(cookie)?;
                Ok(Resolution::Anonymous)
            }
        }
    }

    fn identity(&self, user: &SignedInUser) -> Result<Option<Identity>, SignInError> {
        Ok(self.directory.identity(user)?)
    }

    /// Seals a pending OpenID Connect sign-in into a cookie value that
    /// lives [`PENDING_SIGN_IN_TTL`].
    pub fn seal_pending(&self, pending: &PendingSignIn) -> String {
        let payload = serde_json::to_vec(pending).expect("a pending sign-in serialises");
        let expires = (now_ms() / 1000).saturating_add(PENDING_SIGN_IN_TTL.as_secs() as i64);
        self.sessions.key().seal(PENDING_PURPOSE, &payload, expires)
    }

    /// The pending sign-in a cookie value holds, if it is ours and fresh.
    pub fn open_pending(&self, sealed: &str) -> Option<PendingSignIn> {
        let payload = self
            .sessions
            .key()
            .open(PENDING_PURPOSE, sealed, now_ms() / 1000)
            .ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// Finds who `claims` are, with `resolvers`, and starts their session:
    /// the session cookie to set. Audited either way. Reads and writes the
    /// database: call it off the async runtime.
    pub fn start_session(
        &self,
        claims: &Claims,
        resolvers: &[Resolver],
    ) -> Result<Result<(SignedInUser, IssuedSession), Refusal>, SignInError> {
        let user = match self.directory.match_user(claims, resolvers)? {
            Ok(user) => user,
            Err(refusal) => {
                self.audit_refusal(claims.method, Some(claims.login()), &refusal);
                return Ok(Err(refusal));
            }
        };
        let issued = self.sessions.start(&user)?;
        self.audit(&AuditEvent {
            actor: Some(&user.entity_ref),
            plugin: None,
            action: "auth.sign-in",
            resource: Some(&user.login),
            decision: Decision::Allow,
            reason: &format!("signed in with {}", claims.method),
        });
        Ok(Ok((user, issued)))
    }

    /// Ends the session `cookie` stands for, if any (sign-out); `who` is
    /// recorded in the audit log.
    pub fn sign_out(&self, cookie: Option<&str>, who: &str) -> Result<(), SignInError> {
        let ended = match cookie {
            Some(cookie) => self.sessions.end(cookie)?,
            None => false,
        };
        if ended {
            self.audit(&AuditEvent {
                actor: Some(who),
                plugin: None,
                action: "auth.sign-out",
                resource: None,
                decision: Decision::Allow,
                reason: "signed out; the session is revoked",
            });
        }
        Ok(())
    }

    /// Ends every session of `user_ref`. How many there were.
    pub fn sign_out_everywhere(&self, user_ref: &str) -> Result<usize, SignInError> {
        Ok(self.sessions.end_all(user_ref)?)
    }

    /// Records a refused sign-in: nobody is signed in yet, so it counts
    /// against the log's budget for unsigned requests (a client can send
    /// an untrusted proxy header thousands of times a second).
    fn audit_refusal(&self, method: &str, login: Option<&str>, refusal: &Refusal) {
        tracing::warn!(method, login, "sign-in refused: {refusal}");
        self.audit.record_unsigned(&AuditEvent {
            actor: None,
            plugin: None,
            action: "auth.sign-in",
            resource: login,
            decision: Decision::Deny,
            reason: &format!("{method}: {refusal}"),
        });
    }

    fn audit(&self, event: &AuditEvent<'_>) {
        if let Err(error) = self.audit.record(event) {
            tracing::error!(%error, "cannot record a sign-in in the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::TrustedProxies;
    use greenroom_catalog::{Catalog, CatalogConfig, LocationType};
    use http::HeaderName;

    const PEOPLE: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: jane }
spec: { profile: { email: jane@example.com }, memberOf: [team] }
";

    struct Fixture {
        dir: tempfile::TempDir,
        sign_in: SignIn,
        db: Database,
    }

    fn fixture(trusted: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
        let file = dir.path().join("people.yaml");
        std::fs::write(&file, PEOPLE).expect("written");
        let catalog = Catalog::new(CatalogStore::new(db.clone()), CatalogConfig::default());
        catalog
            .add_location(LocationType::File, &file.to_string_lossy(), "test", false)
            .expect("reads");
        let settings = SignInSettings {
            proxy: Some(ProxySignIn {
                header: HeaderName::from_static("x-forwarded-email"),
                trusted: TrustedProxies::parse(trusted).expect("valid"),
                resolvers: vec![Resolver::EmailMatchingUserEntityProfileEmail],
                sign_out_url: None,
            }),
            oidc: None,
            unknown_users: UnknownUsers::Refuse,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
        };
        let sign_in = SignIn::new(
            db.clone(),
            catalog.store().clone(),
            SessionKey::generate(),
            settings,
        );
        Fixture { dir, sign_in, db }
    }

    /// How `f` resolves a request from 127.0.0.1 whose proxy header says
    /// `email`.
    fn resolve_from_localhost(f: &Fixture, email: &str) -> Resolution {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-email", email.parse().expect("header value"));
        f.sign_in
            .resolve(Some([127, 0, 0, 1].into()), &headers, None)
            .expect("resolves")
    }

    /// How `f` resolves a request carrying only the session cookie `value`.
    fn resolve_session(f: &Fixture, value: &str) -> Resolution {
        f.sign_in
            .resolve(None, &HeaderMap::new(), Some(value))
            .expect("resolves")
    }

    /// Signs jane in with OpenID Connect claims naming her email.
    fn start_jane_session(f: &Fixture) -> (SignedInUser, IssuedSession) {
        let claims = Claims {
            method: "oidc",
            email: Some("jane@example.com".into()),
            ..Claims::default()
        };
        f.sign_in
            .start_session(&claims, &[Resolver::EmailMatchingUserEntityProfileEmail])
            .expect("starts")
            .expect("jane is in the catalog")
    }

    fn audited(db: &Database) -> Vec<String> {
        AuditLog::new(db.clone())
            .recent(None, 10)
            .expect("reads")
            .into_iter()
            .map(|e| format!("{} {:?} {}", e.action, e.decision, e.reason))
            .collect()
    }

    #[test]
    fn a_trusted_proxy_signs_in_the_catalog_user_with_groups() {
        let f = fixture(&["127.0.0.0/8"]);
        let resolution = resolve_from_localhost(&f, "jane@example.com");
        let Resolution::SignedIn(identity) = resolution else {
            panic!("signed in: {resolution:?}");
        };
        assert_eq!(identity.entity_ref, "user:default/jane");
        assert_eq!(identity.groups, ["group:default/team"]);
    }

    #[test]
    fn a_proxy_header_from_an_untrusted_peer_is_refused_and_audited() {
        let f = fixture(&["10.0.0.0/8"]);
        let resolution = resolve_from_localhost(&f, "jane@example.com");
        let Resolution::Refused(refusal) = resolution else {
            panic!("refused: {resolution:?}");
        };
        assert!(refusal.to_string().contains("127.0.0.1"), "{refusal}");
        let entries = audited(&f.db);
        assert!(
            entries[0].starts_with(
                "auth.sign-in Deny proxy: the x-forwarded-email header came from 127.0.0.1"
            ),
            "{entries:?}"
        );
        // Without the header it is simply nobody.
        let nobody = f
            .sign_in
            .resolve(Some([127, 0, 0, 1].into()), &HeaderMap::new(), None)
            .expect("resolves");
        assert_eq!(nobody, Resolution::Anonymous);
    }

    #[test]
    fn a_flood_of_untrusted_proxy_headers_writes_a_bounded_number_of_audit_rows() {
        let f = fixture(&["10.0.0.0/8"]);
        let requests = 20 * crate::UNSIGNED_AUDIT_BURST as usize;
        for _ in 0..requests {
            let resolution = resolve_from_localhost(&f, "jane@example.com");
            assert!(
                matches!(resolution, Resolution::Refused(_)),
                "every request is refused"
            );
        }
        let rows = AuditLog::new(f.db.clone())
            .recent(None, crate::MAX_AUDIT_PAGE)
            .expect("reads")
            .len();
        // The burst and what the rate refilled while the loop ran: far fewer
        // than one row per request.
        assert!(
            rows < requests / 2,
            "{rows} rows for {requests} refused requests"
        );
    }

    #[test]
    fn a_session_resolves_until_signed_out() {
        let f = fixture(&[]);
        let (user, issued) = start_jane_session(&f);
        let resolve = || resolve_session(&f, &issued.value);
        assert!(
            matches!(resolve(), Resolution::SignedIn(ref i) if i.entity_ref == user.entity_ref)
        );
        f.sign_in
            .sign_out(Some(&issued.value), &user.entity_ref)
            .expect("signs out");
        assert_eq!(resolve(), Resolution::Anonymous);
        let entries = audited(&f.db);
        assert!(entries[0].starts_with("auth.sign-out Allow"), "{entries:?}");
        assert!(
            entries[1].starts_with("auth.sign-in Allow signed in with oidc"),
            "{entries:?}"
        );
    }

    #[test]
    fn a_session_ends_when_its_user_leaves_the_catalog() {
        let f = fixture(&[]);
        let (_, issued) = start_jane_session(&f);
        std::fs::write(f.dir.path().join("people.yaml"), "").expect("jane removed");
        let catalog = Catalog::new(
            CatalogStore::new(f.db.clone()),
            CatalogConfig {
                orphans: greenroom_catalog::OrphanStrategy::Keep,
                ..CatalogConfig::default()
            },
        );
        catalog.refresh_all().expect("refreshes");
        assert_eq!(
            resolve_session(&f, &issued.value),
            Resolution::Anonymous,
            "an orphaned User is signed out"
        );
    }

    #[test]
    fn a_pending_sign_in_opens_only_from_this_server_and_unchanged() {
        let f = fixture(&[]);
        let pending: PendingSignIn = serde_json::from_value(serde_json::json!({
            "state": "s", "nonce": "n", "verifier": "v", "return_to": "/catalog"
        }))
        .expect("valid");
        let sealed = f.sign_in.seal_pending(&pending);
        assert_eq!(f.sign_in.open_pending(&sealed), Some(pending));
        let first = if sealed.starts_with('A') { "B" } else { "A" };
        let tampered = format!("{first}{}", &sealed[1..]);
        assert_eq!(f.sign_in.open_pending(&tampered), None);
        let other = fixture(&[]);
        assert_eq!(other.sign_in.open_pending(&sealed), None);
    }
}
