//! Per-plugin environment, per-call session, and the one decision function.

use crate::http::{CallHttp, Egress};
use crate::log::{LogBudget, LogTail};
use greenroom_access::rbac::{Permission, Rbac};
use greenroom_access::{AuditEvent, AuditLog, Decision, Identity};
use greenroom_catalog::CatalogStore;
use greenroom_contract::Grant;
use greenroom_contract::wit::latest::greenroom::plugin::types::HostError;
use greenroom_contract::{Manifest, PluginId};
use greenroom_store::{Database, PluginStore};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Distinct denials of one call recorded in the audit log one by one; the
/// rest (repeats of these, and any past this many) are counted and
/// recorded as one [`COALESCED_ACTION`] entry when the call ends. One page
/// view of a plugin looping on a refused import wrote 27 753 rows before;
/// the first few say what it tried, the count says how hard. Raising it
/// lets one call write that many more rows.
pub const MAX_DENIALS_RECORDED_PER_CALL: usize = 10;

/// The action of the entry that counts a call's denials not recorded one
/// by one.
pub const COALESCED_ACTION: &str = "audit.coalesced";

/// Everything the broker knows about one installed plugin, shared by all of
/// its calls.
#[derive(Debug)]
pub struct PluginEnv {
    id: PluginId,
    grant: Grant,
    settings: serde_json::Value,
    permissions: BTreeSet<String>,
    store: Option<PluginStore>,
    catalog: CatalogStore,
    audit: AuditLog,
    log_tail: LogTail,
    /// How its outbound requests leave: credentials, private hosts.
    egress: Egress,
    /// Roles and policies, for what the acting user may do; without an
    /// engine (unit tests) only the grant is checked.
    rbac: Option<Rbac>,
}

impl PluginEnv {
    /// The environment for a plugin with this manifest, what the operator
    /// granted it, and its resolved settings (see
    /// [`Manifest::resolve_settings`]).
    pub fn new(
        manifest: &Manifest,
        grant: Grant,
        settings: serde_json::Value,
        db: &Database,
    ) -> PluginEnv {
        // The namespace is the plugin's id, chosen here by the host: a
        // plugin has no way to name another's storage.
        let store = grant
            .storage_quota()
            .map(|quota| PluginStore::new(db.clone(), manifest.id.as_str(), quota));
        PluginEnv {
            id: manifest.id.clone(),
            grant,
            settings,
            permissions: manifest
                .permissions
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            store,
            catalog: CatalogStore::new(db.clone()),
            audit: AuditLog::new(db.clone()),
            log_tail: LogTail::default(),
            rbac: None,
            egress: Egress::default(),
        }
    }

    /// Reads and writes the catalog through `catalog` (the server's, with
    /// its catalog rules) instead of one with the default rules.
    pub fn with_catalog(mut self, catalog: CatalogStore) -> PluginEnv {
        self.catalog = catalog;
        self
    }

    /// Decides what acting users may do with `rbac`, besides the grant.
    pub fn with_rbac(mut self, rbac: Rbac) -> PluginEnv {
        self.rbac = Some(rbac);
        self
    }

    /// The policy engine, if any.
    pub(crate) fn rbac(&self) -> Option<&Rbac> {
        self.rbac.as_ref()
    }

    /// Sends its outbound requests as `egress` says (credentials it may
    /// name, names that may resolve to private addresses).
    pub fn with_egress(mut self, egress: Egress) -> PluginEnv {
        self.egress = egress;
        self
    }

    /// How its outbound requests leave.
    pub(crate) fn egress(&self) -> &Egress {
        &self.egress
    }

    /// The plugin's id.
    pub fn id(&self) -> &PluginId {
        &self.id
    }

    /// What it was granted.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Its settings, defaults filled in.
    pub fn settings(&self) -> &serde_json::Value {
        &self.settings
    }

    /// Whether the plugin declared this permission in its manifest.
    pub fn declares_permission(&self, name: &str) -> bool {
        self.permissions.contains(name)
    }

    /// Its storage, when granted.
    pub(crate) fn store(&self) -> Option<&PluginStore> {
        self.store.as_ref()
    }

    /// The catalog, for the `catalog` import.
    pub(crate) fn catalog(&self) -> &CatalogStore {
        &self.catalog
    }

    /// The audit log, for changes made through it.
    pub(crate) fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Its latest warnings and errors, for its health page.
    pub fn log_tail(&self) -> &LogTail {
        &self.log_tail
    }
}

/// Something a plugin asks to do through an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access<'a> {
    /// Read or write its private storage.
    Storage {
        /// The import called, e.g. `storage.set`.
        operation: &'static str,
        /// The key.
        key: &'a str,
    },
    /// Read catalog entities.
    CatalogRead,
    /// Write catalog entities of a kind.
    CatalogWrite {
        /// The entity kind.
        kind: &'a str,
    },
    /// Send an HTTP request.
    Http {
        /// The origin, in the grants' short form: `host`, `host:port`,
        /// `http://host[:port]`.
        authority: &'a str,
    },
    /// Read usage analytics.
    AnalyticsRead,
    /// Administer roles and policies.
    RbacAdmin {
        /// The import called, e.g. `rbac-admin.publish`.
        operation: &'static str,
    },
}

impl Access<'_> {
    fn action(&self) -> &'static str {
        match self {
            Access::Storage { operation, .. } => operation,
            Access::CatalogRead => "catalog.read",
            Access::CatalogWrite { .. } => "catalog.write",
            Access::Http { .. } => "http.request",
            Access::AnalyticsRead => "analytics.query",
            Access::RbacAdmin { operation } => operation,
        }
    }

    fn resource(&self) -> Option<&str> {
        match self {
            Access::Storage { key, .. } => Some(key),
            Access::CatalogWrite { kind } => Some(kind),
            Access::Http { authority } => Some(authority),
            Access::CatalogRead | Access::AnalyticsRead | Access::RbacAdmin { .. } => None,
        }
    }

    /// The capability this access needs, as operators write it.
    fn capability(&self) -> String {
        match self {
            Access::Storage { .. } => "storage".to_owned(),
            Access::CatalogRead => "catalog:read".to_owned(),
            Access::CatalogWrite { kind } => format!("catalog:write:{kind}"),
            Access::Http { authority } => format!("http:{authority}"),
            Access::AnalyticsRead => "analytics:read".to_owned(),
            Access::RbacAdmin { .. } => "rbac:admin".to_owned(),
        }
    }
}

/// The broker's state for one plugin call: which plugin, for whom.
#[derive(Debug)]
pub struct Session {
    env: Arc<PluginEnv>,
    user: Option<Identity>,
    pub(crate) log_budget: LogBudget,
    /// Outbound HTTP requests sent and their limits.
    pub(crate) http: CallHttp,
    /// Imports denied during this call, for the plugin's health.
    denials: AtomicU32,
    /// Where its denials are recorded, within the call's budget.
    denial_log: Arc<CallDenials>,
}

impl Session {
    /// A session for a call to the plugin in `env`, made for `user` (none
    /// for scheduled tasks).
    pub fn new(env: Arc<PluginEnv>, user: Option<Identity>) -> Session {
        let denial_log = Arc::new(CallDenials {
            env: Arc::clone(&env),
            actor: user.as_ref().map(|u| u.entity_ref.clone()),
            state: Mutex::default(),
        });
        Session {
            env,
            user,
            log_budget: LogBudget::default(),
            denials: AtomicU32::new(0),
            http: CallHttp::default(),
            denial_log,
        }
    }

    /// How many imports were denied during this call so far.
    pub fn denials(&self) -> u32 {
        self.denials.load(Ordering::Relaxed)
    }

    /// The plugin's environment.
    pub fn env(&self) -> &PluginEnv {
        &self.env
    }

    /// The acting user.
    pub fn user(&self) -> Option<&Identity> {
        self.user.as_ref()
    }

    /// The one place an import call is decided.
    ///
    /// First the plugin's grant: was it given the capability this access
    /// needs (this host, this kind)? Then, when the call is made for a
    /// user, may that user do it (RBAC): writing catalog entities needs the
    /// user's `catalog.entity.create` (a conditional allow is not enough for
    /// a write, which is all or nothing); administering policies needs an
    /// acting user who holds `rbac.admin`; what a user may read is the
    /// [`Session::catalog_restriction`] every read ANDs into its SQL.
    /// Storage and HTTP are the plugin's own, decided by the grant alone.
    /// A denial is recorded in the audit log and returned as `denied`.
    pub fn decide(&self, access: Access<'_>) -> Result<(), HostError> {
        let grant = &self.env.grant;
        let granted = match access {
            Access::Storage { .. } => grant.storage_quota().is_some(),
            Access::CatalogRead => grant.allows_catalog_read(),
            Access::CatalogWrite { kind } => grant.allows_catalog_write(kind),
            Access::Http { authority } => grant.allows_http(authority),
            Access::AnalyticsRead => grant.allows_analytics_read(),
            Access::RbacAdmin { .. } => grant.allows_rbac_admin(),
        };
        if granted {
            return self.decide_for_user(access);
        }
        let reason = format!(
            "capability {} was not granted to plugin {}",
            access.capability(),
            self.env.id
        );
        self.audit_denial(access.action(), access.resource(), &reason);
        Err(HostError::Denied(reason))
    }

    /// What the acting user may see of the catalog, as a condition every
    /// catalog read ANDs into its SQL; `None` means everything: RBAC's
    /// decision on `catalog.entity.read`, its conditions (is owner, is kind,
    /// has annotation…) compiled to SQL — the same the portal asks.
    pub fn catalog_restriction(&self) -> Option<greenroom_catalog::Predicate> {
        let (Some(user), Some(rbac)) = (&self.user, self.env.rbac()) else {
            // A scheduled task acts for no one: its grant decides.
            return None;
        };
        rbac.permit(user, &Permission::CATALOG_ENTITY_READ)
            .restriction()
    }

    /// The acting user's part of [`Session::decide`].
    fn decide_for_user(&self, access: Access<'_>) -> Result<(), HostError> {
        let permission = match access {
            Access::CatalogWrite { .. } => Permission::CATALOG_ENTITY_CREATE,
            // Administering policies is only ever for someone who may.
            Access::RbacAdmin { .. } => Permission::RBAC_ADMIN,
            _ => return Ok(()),
        };
        let (Some(user), Some(rbac)) = (&self.user, self.env.rbac()) else {
            if !matches!(access, Access::RbacAdmin { .. }) {
                return Ok(());
            }
            let reason = match self.user {
                None => "rbac.admin needs an acting user; scheduled tasks act for no one",
                Some(_) => "this host has no policy engine",
            };
            self.audit_denial(access.action(), access.resource(), reason);
            return Err(HostError::Denied(reason.to_owned()));
        };
        rbac.permit(user, &permission).require().map_err(|refusal| {
            self.audit_denial(access.action(), access.resource(), &refusal.reason);
            HostError::Denied(refusal.reason)
        })
    }

    /// Records a denial within the call's budget (see
    /// [`MAX_DENIALS_RECORDED_PER_CALL`]), and counts it on the call (see
    /// [`Session::denials`]). Failing to write the audit log never turns a
    /// denial into an allow; it is logged as an error instead.
    pub(crate) fn audit_denial(&self, action: &str, resource: Option<&str>, reason: &str) {
        self.denials.fetch_add(1, Ordering::Relaxed);
        self.denial_log.record(action, resource, reason);
    }

    /// Records denials found after an import returned: outbound HTTP learns
    /// where a name resolves and how large a response is only once the
    /// request is under way.
    pub(crate) fn auditor(&self) -> Auditor {
        Auditor(Arc::clone(&self.denial_log))
    }
}

/// [`Session::audit_denial`] for work that outlives the import call; it
/// shares the call's budget.
#[derive(Debug, Clone)]
pub(crate) struct Auditor(Arc<CallDenials>);

impl Auditor {
    /// Records a denial, as [`Session::audit_denial`] does.
    pub(crate) fn deny(&self, action: &str, resource: Option<&str>, reason: &str) {
        self.0.record(action, resource, reason);
    }
}

/// The denials of one call. The first [`MAX_DENIALS_RECORDED_PER_CALL`]
/// distinct ones are written as they happen; the others are counted, and
/// the count is written once, when the last holder (the session, or an
/// outbound request that outlived it) lets go.
#[derive(Debug)]
struct CallDenials {
    env: Arc<PluginEnv>,
    actor: Option<String>,
    state: Mutex<DenialCount>,
}

#[derive(Debug, Default)]
struct DenialCount {
    /// Digests of the denials recorded (action, resource, reason).
    recorded: Vec<u64>,
    /// Denials counted but not recorded one by one.
    coalesced: u64,
}

impl CallDenials {
    fn record(&self, action: &str, resource: Option<&str>, reason: &str) {
        // What the audit log keeps of each field (its start and length)
        // tells denials apart; hashing all of an 8 MiB key on every call
        // would be work a plugin could make the host do for free.
        let mut digest = std::collections::hash_map::DefaultHasher::new();
        action.hash(&mut digest);
        resource
            .map(|r| kept(r, greenroom_access::MAX_AUDIT_RESOURCE_BYTES))
            .hash(&mut digest);
        kept(reason, greenroom_access::MAX_AUDIT_REASON_BYTES).hash(&mut digest);
        let digest = digest.finish();
        {
            let mut count = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if count.recorded.contains(&digest)
                || count.recorded.len() >= MAX_DENIALS_RECORDED_PER_CALL
            {
                count.coalesced += 1;
                return;
            }
            count.recorded.push(digest);
        }
        self.write(action, resource, reason);
    }

    fn write(&self, action: &str, resource: Option<&str>, reason: &str) {
        let event = AuditEvent {
            actor: self.actor.as_deref(),
            plugin: Some(self.env.id.as_str()),
            action,
            resource,
            decision: Decision::Deny,
            reason,
        };
        if let Err(error) = self.env.audit.record(&event) {
            tracing::error!(plugin = %self.env.id, %error, "could not record a denial in the audit log");
        }
    }
}

/// What the audit log keeps of a field: its length and its first `max`
/// bytes.
fn kept(text: &str, max: usize) -> (usize, &[u8]) {
    (text.len(), &text.as_bytes()[..text.len().min(max)])
}

impl Drop for CallDenials {
    fn drop(&mut self) {
        let count = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        let (coalesced, distinct) = (count.coalesced, count.recorded.len());
        if coalesced == 0 {
            return;
        }
        self.write(
            COALESCED_ACTION,
            None,
            &format!(
                "and {coalesced} more denials during the same call, not recorded one by one \
                 (repeats, or past the first {distinct} distinct ones recorded above)"
            ),
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The `probe` plugin's manifest: `capabilities` (TOML, under
    /// `[capabilities]`) and any tables after them.
    pub(crate) fn probe_manifest(capabilities: &str) -> Manifest {
        Manifest::from_toml(&format!(
            "id = \"probe\"\nname = \"Probe\"\nversion = \"1.0.0\"\ntier = \"open\"\n[capabilities]\n{capabilities}"
        ))
        .expect("valid manifest")
    }

    pub(crate) fn env_with(capabilities: &str) -> (tempfile::TempDir, Database, Arc<PluginEnv>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("db")).expect("opens");
        let manifest = probe_manifest(capabilities);
        let env = PluginEnv::new(
            &manifest,
            Grant::all_requested(&manifest),
            serde_json::json!({}),
            &db,
        );
        (dir, db, Arc::new(env))
    }

    #[test]
    fn denies_an_ungranted_capability_and_audits_it() {
        let (_dir, db, env) = env_with("");
        let session = Session::new(env, Some(Identity::guest()));
        let err = session
            .decide(Access::Http {
                authority: "evil.example.com",
            })
            .unwrap_err();
        assert!(
            matches!(&err, HostError::Denied(m) if m.contains("http:evil.example.com")),
            "{err:?}"
        );
        let audit = AuditLog::new(db)
            .recent(Some("probe"), 10)
            .expect("audit readable");
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "http.request");
        assert_eq!(audit[0].resource.as_deref(), Some("evil.example.com"));
        assert_eq!(audit[0].actor.as_deref(), Some("user:default/guest"));
    }

    fn audit_rows(db: &Database) -> Vec<greenroom_access::AuditEntry> {
        AuditLog::new(db.clone())
            .recent(None, greenroom_access::MAX_AUDIT_PAGE)
            .expect("audit readable")
    }

    #[test]
    fn a_call_looping_on_a_refused_import_writes_a_few_rows_and_one_count() {
        let (_dir, db, env) = env_with("");
        let session = Session::new(env, Some(Identity::guest()));
        for n in 0..30_000 {
            // 25 distinct keys over and over.
            let key = format!("key-{}", n % 25);
            let denied = session.decide(Access::Storage {
                operation: "storage.get",
                key: &key,
            });
            assert!(matches!(denied, Err(HostError::Denied(_))));
        }
        assert_eq!(
            session.denials(),
            30_000,
            "every denial still counts on the call"
        );
        assert_eq!(audit_rows(&db).len(), MAX_DENIALS_RECORDED_PER_CALL);
        drop(session);
        let rows = audit_rows(&db);
        assert_eq!(rows.len(), MAX_DENIALS_RECORDED_PER_CALL + 1);
        assert_eq!(rows[0].action, COALESCED_ACTION);
        assert_eq!(rows[0].plugin.as_deref(), Some("probe"));
        assert_eq!(rows[0].actor.as_deref(), Some("user:default/guest"));
        assert!(
            rows[0]
                .reason
                .starts_with("and 29990 more denials during the same call"),
            "{}",
            rows[0].reason
        );
    }

    #[test]
    fn a_huge_key_is_stored_cut_and_each_call_records_its_own_first_denials() {
        let (_dir, db, env) = env_with("");
        let key = "k".repeat(8 << 20);
        for _ in 0..8 {
            let session = Session::new(Arc::clone(&env), None);
            for _ in 0..3 {
                let _ = session.decide(Access::Storage {
                    operation: "storage.set",
                    key: &key,
                });
            }
        }
        let rows = audit_rows(&db);
        // Per call: the denial once, then "and 2 more".
        assert_eq!(rows.len(), 16);
        let stored: usize = rows
            .iter()
            .map(|r| r.resource.as_deref().map_or(0, str::len) + r.reason.len())
            .sum();
        assert!(
            stored < 64 << 10,
            "{stored} bytes stored for 8 refused 8 MiB keys"
        );
    }

    #[test]
    fn counts_the_denials_of_its_call() {
        let (_dir, _db, env) = env_with("");
        let session = Session::new(env, None);
        assert_eq!(session.denials(), 0);
        let _ = session.decide(Access::CatalogRead);
        let _ = session.decide(Access::AnalyticsRead);
        assert_eq!(session.denials(), 2);
    }

    #[test]
    fn allows_a_granted_capability_without_auditing() {
        let (_dir, db, env) = env_with("storage = { quota = \"1 KiB\" }");
        let session = Session::new(env, None);
        assert_eq!(
            session.decide(Access::Storage {
                operation: "storage.get",
                key: "k"
            }),
            Ok(())
        );
        assert!(session.decide(Access::CatalogRead).is_err());
        assert_eq!(
            AuditLog::new(db)
                .recent(None, 10)
                .expect("audit readable")
                .len(),
            1
        );
    }
}
