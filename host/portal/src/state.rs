//! What every handler shares.

use greenroom_catalog::Catalog;
use greenroom_runtime::LoadedPlugin;
use std::sync::Arc;
use std::time::Instant;

/// How the portal behaves.
#[derive(Debug, Clone, Default)]
pub struct PortalConfig {
    /// Let anyone in as the demo guest. Only for local use: the portal
    /// shows a banner whenever it is on.
    pub guest_access: bool,
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
    plugins: Vec<Arc<LoadedPlugin>>,
    failed: Vec<FailedPlugin>,
    config: PortalConfig,
    catalog: Catalog,
    started: Instant,
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
                plugins,
                failed,
                config,
                catalog,
                started: Instant::now(),
            }),
        }
    }

    /// Loaded plugins, in configuration order.
    pub(crate) fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        &self.inner.plugins
    }

    /// The loaded plugin with this id.
    pub(crate) fn plugin(&self, id: &str) -> Option<&Arc<LoadedPlugin>> {
        self.inner
            .plugins
            .iter()
            .find(|p| p.manifest().id.as_str() == id)
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
