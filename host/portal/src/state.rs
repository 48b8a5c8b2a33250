//! What every handler shares.

use greenroom_access::Identity;
use greenroom_access::rbac::{Permission, Permit, PolicyDocument, Rbac, Refusal};
use greenroom_catalog::Catalog;
use greenroom_lifecycle::PluginHost;
use std::sync::Arc;
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

/// What administration works with: the data directory's marketplace and
/// the follower's report of what it loaded.
pub struct Admin {
    /// The data directory's marketplace: indexes, installs, records.
    pub marketplace: Arc<greenroom_marketplace::Marketplace>,
    /// The token the CLI presents, if the server has one.
    pub token: Option<String>,
    /// Where a running server's follower reports what it loaded.
    pub loads: Arc<greenroom_lifecycle::Loads>,
}

/// Everything a portal is built from, given whole.
pub struct AppParts {
    /// The plugins this server runs.
    pub plugins: PluginHost,
    /// How the portal behaves.
    pub config: PortalConfig,
    /// The software catalog.
    pub catalog: Catalog,
    /// Roles and policies; none: no policy, only the bootstrap admins the
    /// configuration names (and, with guest access on, the guest).
    pub rbac: Option<Rbac>,
    /// Administration (`/admin`, `/api/admin`), when the server has a data
    /// directory to install into.
    pub admin: Option<Arc<Admin>>,
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
    admin: Option<Arc<Admin>>,
    /// Roles and policies: who may do what (reloaded in place when the
    /// published policy changes).
    rbac: Rbac,
    /// The audit log, one for the server's lifetime: its budget for
    /// requests nobody signed is shared by every handler.
    audit: greenroom_access::AuditLog,
}

impl AppState {
    /// The state for a portal serving `plugins` and `catalog`, with no
    /// policy and no administration.
    pub fn new(plugins: PluginHost, config: PortalConfig, catalog: Catalog) -> AppState {
        AppState::build(AppParts {
            plugins,
            config,
            catalog,
            rbac: None,
            admin: None,
        })
    }

    /// The state built from its parts. The plugins admins turned off are
    /// read here, when there is administration.
    pub fn build(parts: AppParts) -> AppState {
        let AppParts {
            plugins,
            config,
            catalog,
            rbac,
            admin,
        } = parts;
        let rbac = rbac.unwrap_or_else(|| default_rbac(&config));
        if let Some(admin) = &admin {
            plugins.load_suspensions(&admin.marketplace.suspensions());
        }
        let audit = greenroom_access::AuditLog::new(catalog.store().database().clone());
        AppState {
            inner: Arc::new(Inner {
                audit,
                rbac,
                plugins,
                config,
                catalog,
                started: Instant::now(),
                admin,
            }),
        }
    }

    /// The same portal with other parts: for tests that change the policy
    /// or turn administration on.
    #[cfg(test)]
    pub(crate) fn rebuilt(&self, change: impl FnOnce(&mut AppParts)) -> AppState {
        let mut parts = AppParts {
            plugins: self.inner.plugins.clone(),
            config: self.inner.config.clone(),
            catalog: self.inner.catalog.clone(),
            rbac: Some(self.inner.rbac.clone()),
            admin: self.inner.admin.clone(),
        };
        change(&mut parts);
        AppState::build(parts)
    }

    /// The plugins this server runs; a handler calls one only through
    /// [`PluginHost::callable`] or [`PluginHost::gate`].
    pub fn plugins(&self) -> &PluginHost {
        &self.inner.plugins
    }

    /// The policy engine.
    pub fn rbac(&self) -> Rbac {
        self.inner.rbac.clone()
    }

    /// The one decision for `user` and `permission` (see
    /// [`greenroom_access::rbac::Permit`]): what it allows outright, on
    /// one entity, or as the restriction ANDed into catalog queries.
    pub(crate) fn permit(&self, user: &Identity, permission: &Permission) -> Permit {
        self.rbac().permit(user, permission)
    }

    /// What `user` may see of the catalog, ANDed into every read by the
    /// pages and the API: RBAC's decision on `catalog.entity.read`, the same
    /// the broker asks for plugins' reads; `None` for everything.
    pub(crate) fn catalog_restriction(
        &self,
        user: &Identity,
    ) -> Option<greenroom_catalog::Predicate> {
        self.permit(user, &Permission::CATALOG_ENTITY_READ)
            .restriction()
    }

    /// Refuses (403) unless RBAC allows `user` `permission` outright; a
    /// refusal is written to the audit log with the rule that decided.
    pub(crate) fn require(
        &self,
        user: &Identity,
        permission: &Permission,
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
        slot.requires.as_deref().is_none_or(|permission| {
            self.permit(user, &Permission::new(permission.to_owned()))
                .allowed()
        })
    }

    /// The audit log. Record what requests nobody signed did with
    /// [`greenroom_access::AuditLog::record_unsigned`], which bounds them.
    pub(crate) fn audit(&self) -> &greenroom_access::AuditLog {
        &self.inner.audit
    }

    /// What `user` may do with `permission` on single entities, decided
    /// once: the restriction an entity must pass, and the (audited) refusal
    /// for one that does not.
    pub(crate) fn entity_permission(
        &self,
        user: &Identity,
        permission: &Permission,
    ) -> EntityPermission {
        EntityPermission {
            permit: self.permit(user, permission),
            state: self.clone(),
        }
    }

    /// The administration, if it is on.
    pub(crate) fn admin(&self) -> Option<Arc<Admin>> {
        self.inner.admin.clone()
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

/// Without an engine of the server's: no policy, and the configured admins
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
