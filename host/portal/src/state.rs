//! What every handler shares.

use greenroom_catalog::Catalog;
use greenroom_runtime::{LoadedPlugin, Scheduler};
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
}

/// A configured plugin that could not be loaded, shown to operators.
#[derive(Debug, Clone)]
pub struct FailedPlugin {
    /// Where it came from (a path or `bundled:<name>`).
    pub source: String,
    /// Why it was refused.
    pub error: String,
}

/// The state shared by every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Replaced whole when a plugin is swapped; a request keeps the set it
    /// started with, so a swap never fails a request in flight.
    plugins: RwLock<Arc<[Arc<LoadedPlugin>]>>,
    failed: Vec<FailedPlugin>,
    config: PortalConfig,
    catalog: Catalog,
    started: Instant,
    /// Set once the server runs: every plugin that comes or goes is
    /// (un)scheduled with it.
    scheduler: OnceLock<Scheduler>,
    /// The marketplace and installed plugins, when the server has a data
    /// directory to install into.
    admin: OnceLock<Arc<crate::admin::Admin>>,
    /// Premium licences: whether they are checked, and the statuses.
    licences: crate::licensing::LicenceGate,
    /// Plugins an admin turned off (see the `suspension` module).
    suspensions: crate::suspension::SuspensionGate,
}

impl AppState {
    /// The state for a portal serving `plugins` and `catalog`; `failed`
    /// lists the plugins that could not be loaded.
    pub fn new(
        plugins: Vec<Arc<LoadedPlugin>>,
        failed: Vec<FailedPlugin>,
        config: PortalConfig,
        catalog: Catalog,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                plugins: RwLock::new(plugins.into()),
                failed,
                config,
                catalog,
                started: Instant::now(),
                scheduler: OnceLock::new(),
                admin: OnceLock::new(),
                licences: Default::default(),
                suspensions: Default::default(),
            }),
        }
    }

    /// Loaded plugins, in configuration order: a snapshot, unaffected by
    /// swaps made while it is held.
    pub(crate) fn plugins(&self) -> Arc<[Arc<LoadedPlugin>]> {
        Arc::clone(&self.inner.plugins.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The loaded plugin with this id.
    pub(crate) fn plugin(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins()
            .iter()
            .find(|p| p.manifest().id.as_str() == id)
            .cloned()
    }

    /// Stops serving the plugin with this id; requests already running
    /// finish with it.
    pub fn remove_plugin(&self, id: &str) {
        let mut plugins = self
            .inner
            .plugins
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let next: Vec<Arc<LoadedPlugin>> = plugins
            .iter()
            .filter(|p| p.manifest().id.as_str() != id)
            .cloned()
            .collect();
        *plugins = next.into();
        if let Some(scheduler) = self.inner.scheduler.get() {
            scheduler.unschedule(id);
        }
    }

    /// Puts `plugin` in place of the loaded plugin with the same id (or
    /// after the others when there is none). Requests already running
    /// finish with the old one; new requests get the new one.
    pub fn replace_plugin(&self, plugin: Arc<LoadedPlugin>) {
        let mut plugins = self
            .inner
            .plugins
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let id = plugin.manifest().id.clone();
        let mut next: Vec<Arc<LoadedPlugin>> = plugins.iter().cloned().collect();
        match next.iter().position(|p| p.manifest().id == id) {
            Some(i) => next[i] = Arc::clone(&plugin),
            None => next.push(Arc::clone(&plugin)),
        }
        *plugins = next.into();
        if let Some(scheduler) = self.inner.scheduler.get() {
            scheduler.schedule(plugin);
        }
    }

    /// Starts running the scheduled tasks of every plugin, now and as
    /// plugins are swapped in and out. Call it once, inside the tokio
    /// runtime the server runs on.
    pub fn start_scheduler(&self) -> Scheduler {
        // A weak reference: the schedule lives in the state it asks.
        let state = Arc::downgrade(&self.inner);
        let scheduler = self.inner.scheduler.get_or_init(|| {
            Scheduler::new(Arc::new(move |plugin: &LoadedPlugin| {
                state.upgrade().is_some_and(|inner| {
                    AppState { inner }.may_run_tasks(plugin.manifest().id.as_str())
                })
            }))
        });
        for plugin in self.plugins().iter() {
            scheduler.schedule(Arc::clone(plugin));
        }
        scheduler.clone()
    }

    /// Whether the plugin with this id may run its scheduled tasks now:
    /// it is loaded, licensed if it is premium, and no admin turned it off.
    fn may_run_tasks(&self, id: &str) -> bool {
        self.licensed(id) && self.suspension(id).is_none()
    }

    /// Turns on administration (`/admin`, `/api/admin`). Call it once,
    /// before serving.
    pub fn set_admin(&self, admin: crate::admin::Admin) {
        self.load_suspensions(&admin.marketplace.suspensions());
        let _ = self.inner.admin.set(Arc::new(admin));
    }

    /// The administration, if it is on.
    pub(crate) fn admin(&self) -> Option<Arc<crate::admin::Admin>> {
        self.inner.admin.get().cloned()
    }

    /// Premium licences (see the `licensing` module).
    pub(crate) fn licence_gate(&self) -> &crate::licensing::LicenceGate {
        &self.inner.licences
    }

    /// Plugins an admin turned off (see the `suspension` module).
    pub(crate) fn suspension_gate(&self) -> &crate::suspension::SuspensionGate {
        &self.inner.suspensions
    }

    /// Plugins that could not be loaded.
    pub(crate) fn failed(&self) -> &[FailedPlugin] {
        &self.inner.failed
    }

    /// The software catalog.
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub(crate) fn config(&self) -> &PortalConfig {
        &self.inner.config
    }

    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }
}
