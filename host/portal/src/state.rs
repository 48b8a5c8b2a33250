//! What every handler shares.

use greenroom_access::Identity;
use greenroom_access::rbac::{Permit, PolicyDocument, Rbac, Refusal};
use greenroom_catalog::Catalog;
use greenroom_lifecycle::PluginHost;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

/// How the portal behaves.
#[derive(Debug, Clone, Default)]
pub struct PortalConfig {
    /// Let anyone in as the demo guest. Only for local use: the portal
    /// shows a banner whenever it is on.
    pub guest_access: bool,
    /// Entity references of the users who may administer the portal
    /// (install plugins, manage licences).
    pub admins: Vec<String>,
    /// The sign-in methods (a trusted proxy, OpenID Connect) and sessions;
    /// none: nobody signs in (only the guest, if guest access is on).
    pub sign_in: Option<Arc<greenroom_access::SignIn>>,
    /// Mark cookies `Secure`: the portal is reached over HTTPS.
    pub secure_cookies: bool,
    /// Tokens services present to call plugins' APIs (see
    /// [`crate::service`]).
    pub api_tokens: Vec<crate::service::ApiToken>,
}

/// The state shared by every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// The plugins this server runs: the only way to call one.
    plugins: PluginHost,
    config: PortalConfig,
    catalog: Catalog,
    started: Instant,
    /// The marketplace and installed plugins, when the server has a data
    /// directory to install into.
    admin: OnceLock<Arc<crate::admin::Admin>>,
    /// Roles and policies: who may do what.
    rbac: RwLock<Rbac>,
    /// The audit log, one for the server's lifetime: its budget for
    /// requests nobody signed is shared by every handler.
    audit: greenroom_access::AuditLog,
}

impl AppState {
    /// The state for a portal serving `plugins` and `catalog`.
    pub fn new(plugins: PluginHost, config: PortalConfig, catalog: Catalog) -> AppState {
        let rbac = RwLock::new(default_rbac(&config));
        let audit = greenroom_access::AuditLog::new(catalog.store().database().clone());
        AppState {
            inner: Arc::new(Inner {
                audit,
                rbac,
                plugins,
                config,
                catalog,
                started: Instant::now(),
                admin: OnceLock::new(),
            }),
        }
    }

    /// The plugins this server runs; a handler calls one only through
    /// [`PluginHost::callable`] or [`PluginHost::gate`].
    pub fn plugins(&self) -> &PluginHost {
        &self.inner.plugins
    }

    /// Uses `rbac` for every decision from now on (the server's engine over
    /// the published policy in its store).
    pub fn set_rbac(&self, rbac: Rbac) {
        *self.inner.rbac.write().unwrap_or_else(|p| p.into_inner()) = rbac;
    }

    /// The policy engine.
    pub fn rbac(&self) -> Rbac {
        self.inner
            .rbac
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The one decision for `user` and `permission` (see
    /// [`greenroom_access::rbac::Permit`]): what it allows outright, on
    /// one entity, or as the restriction ANDed into catalog queries.
    pub(crate) fn permit(&self, user: &Identity, permission: &str) -> Permit {
        self.rbac().permit(user, permission)
    }

    /// What `user` may see of the catalog, ANDed into every read by the
    /// pages and the API: RBAC's decision on `catalog.entity.read`, the same
    /// the broker asks for plugins' reads; `None` for everything.
    pub(crate) fn catalog_restriction(
        &self,
        user: &Identity,
    ) -> Option<greenroom_catalog::Predicate> {
        self.permit(user, "catalog.entity.read").restriction()
    }

    /// Refuses (403) unless RBAC allows `user` `permission` outright; a
    /// refusal is written to the audit log with the rule that decided.
    pub(crate) fn require(
        &self,
        user: &Identity,
        permission: &str,
        format: crate::error::Format,
    ) -> Result<(), crate::error::AppError> {
        self.permit(user, permission)
            .require()
            .map_err(|refusal| self.refuse(&refusal, format))
    }

    /// Writes `refusal` to the audit log once, and answers it as a 403.
    pub(crate) fn refuse(
        &self,
        refusal: &Refusal,
        format: crate::error::Format,
    ) -> crate::error::AppError {
        self.audit().record_or_log(&refusal.event(None));
        crate::error::AppError {
            kind: crate::error::ErrorKind::Forbidden(refusal.reason.clone()),
            format,
        }
    }

    /// Whether `user` is shown `slot`: it requires no permission, or one
    /// they hold (a conditional allow is not enough to show it).
    pub(crate) fn may_see(&self, user: &Identity, slot: &greenroom_contract::SlotDecl) -> bool {
        slot.requires
            .as_deref()
            .is_none_or(|permission| self.permit(user, permission).allowed())
    }

    /// The audit log. Record what requests nobody signed did with
    /// [`greenroom_access::AuditLog::record_unsigned`], which bounds them.
    pub(crate) fn audit(&self) -> &greenroom_access::AuditLog {
        &self.inner.audit
    }

    /// What `user` may do with `permission` on single entities, decided
    /// once: the restriction an entity must pass, and the (audited) refusal
    /// for one that does not.
    pub(crate) fn entity_permission(&self, user: &Identity, permission: &str) -> EntityPermission {
        EntityPermission {
            permit: self.permit(user, permission),
            state: self.clone(),
        }
    }

    /// Turns on administration (`/admin`, `/api/admin`). Call it once,
    /// before serving.
    pub fn set_admin(&self, admin: crate::admin::Admin) {
        self.plugins()
            .load_suspensions(&admin.marketplace.suspensions());
        let _ = self.inner.admin.set(Arc::new(admin));
    }

    /// The administration, if it is on.
    pub(crate) fn admin(&self) -> Option<Arc<crate::admin::Admin>> {
        self.inner.admin.get().cloned()
    }

    /// The software catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub(crate) fn config(&self) -> &PortalConfig {
        &self.inner.config
    }

    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }
}

/// Until the server sets its engine: no policy, and the configured admins
/// (and, with guest access on, the guest — local demos only) as bootstrap
/// admins, who may do everything.
fn default_rbac(config: &PortalConfig) -> Rbac {
    Rbac::fixed(PolicyDocument::default(), bootstrap_admins(config))
}

/// The bootstrap admins a configuration names.
pub fn bootstrap_admins(config: &PortalConfig) -> Vec<String> {
    let mut admins = config.admins.clone();
    if config.guest_access {
        admins.push(Identity::guest().entity_ref);
    }
    admins
}

/// A user's permission on single catalog entities (see
/// [`AppState::entity_permission`]).
pub(crate) struct EntityPermission {
    permit: Permit,
    state: AppState,
}

impl EntityPermission {
    /// What an entity must match for the user to be allowed: ANDed into
    /// the query that finds it.
    pub(crate) fn restriction(&self) -> Option<greenroom_catalog::Predicate> {
        self.permit.restriction()
    }

    /// The refusal for `resource`, written to the audit log: a 403.
    pub(crate) fn refuse(&self, resource: &str) -> crate::error::AppError {
        self.state.refuse(
            &self.permit.refusal(Some(resource)),
            crate::error::Format::Json,
        )
    }

    /// The refusal as an error page, audited as [`EntityPermission::refuse`].
    pub(crate) fn refuse_page(&self, resource: &str) -> crate::error::AppError {
        self.state.refuse(
            &self.permit.refusal(Some(resource)),
            crate::error::Format::Html,
        )
    }
}
