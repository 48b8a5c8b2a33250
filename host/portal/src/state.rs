//! What every handler shares.

use greenroom_access::Identity;
use greenroom_access::rbac::{CatalogFilter, PolicyDocument, Rbac, RbacDecision};
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

    /// Refuses (403) unless RBAC allows `user` `permission` outright; a
    /// refusal is written to the audit log with the rule that decided.
    pub(crate) fn require(
        &self,
        user: &Identity,
        permission: &str,
        format: crate::error::Format,
    ) -> Result<(), crate::error::AppError> {
        let decision = self.rbac().decide(user, permission);
        if decision.outcome == greenroom_access::rbac::Outcome::Allow {
            return Ok(());
        }
        let reason = refusal_reason(user, permission, &decision);
        self.audit_user_denial(user, permission, None, &reason);
        Err(crate::error::AppError {
            kind: crate::error::ErrorKind::Forbidden(reason),
            format,
        })
    }

    /// Whether `user` is shown `slot`: it requires no permission, or one
    /// they hold (a conditional allow is not enough to show it).
    pub(crate) fn may_see(&self, user: &Identity, slot: &greenroom_contract::SlotDecl) -> bool {
        slot.requires
            .as_deref()
            .is_none_or(|permission| self.rbac().allows(user, permission))
    }

    /// The audit log. Record what requests nobody signed did with
    /// [`greenroom_access::AuditLog::record_unsigned`], which bounds them.
    pub(crate) fn audit(&self) -> &greenroom_access::AuditLog {
        &self.inner.audit
    }

    /// Writes a user's refusal to the audit log.
    pub(crate) fn audit_user_denial(
        &self,
        user: &Identity,
        action: &str,
        resource: Option<&str>,
        reason: &str,
    ) {
        self.audit().record_or_log(&greenroom_access::AuditEvent {
            actor: Some(&user.entity_ref),
            plugin: None,
            action,
            resource,
            decision: greenroom_access::Decision::Deny,
            reason,
        });
    }

    /// What `user` may do with `permission` on single entities, decided
    /// once: the filter an entity must pass, and the (audited) refusal for
    /// one that does not.
    pub(crate) fn entity_permission(
        &self,
        user: &Identity,
        permission: &'static str,
    ) -> EntityPermission {
        let decision = self.rbac().decide(user, permission);
        EntityPermission {
            allowed: decision.catalog_filter().restriction(),
            reason: refusal_reason(user, permission, &decision),
            state: self.clone(),
            user: user.clone(),
            permission,
        }
    }

    /// What `user` may see of the catalog under `permission`.
    pub(crate) fn catalog_filter(&self, user: &Identity, permission: &str) -> CatalogFilter {
        self.rbac().catalog_filter(user, permission)
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

/// Why `user` is refused `permission`, as the 403 and the audit log say it.
fn refusal_reason(user: &Identity, permission: &str, decision: &RbacDecision) -> String {
    format!(
        "{} may not {permission}: {}",
        user.entity_ref,
        decision.reason(permission)
    )
}

/// A user's permission on single catalog entities (see
/// [`AppState::entity_permission`]).
pub(crate) struct EntityPermission {
    /// What an entity must match for the user to be allowed.
    pub allowed: Option<greenroom_catalog::Predicate>,
    reason: String,
    state: AppState,
    user: Identity,
    permission: &'static str,
}

impl EntityPermission {
    /// The refusal for `resource`, written to the audit log: a 403.
    /// The refusal as an error page, audited as [`EntityPermission::refuse`].
    pub(crate) fn refuse_page(&self, resource: &str) -> crate::error::AppError {
        let mut error = self.refuse(resource);
        error.format = crate::error::Format::Html;
        error
    }

    pub(crate) fn refuse(&self, resource: &str) -> crate::error::AppError {
        self.state
            .audit_user_denial(&self.user, self.permission, Some(resource), &self.reason);
        crate::error::AppError::api(crate::error::ErrorKind::Forbidden(self.reason.clone()))
    }
}
