//! The live set of plugins, swapped whole, and the gate in front of it.

use crate::Refusal;
use crate::licensing::LicenceGate;
use crate::load::{Loader, PluginEntry, prepare};
use crate::suspension::SuspensionGate;
use greenroom_broker::PluginEnv;
use greenroom_contract::{Artifact, Manifest, SlotDecl};
use greenroom_runtime::types::{Outcome, Request, Response};
use greenroom_runtime::view::View;
use greenroom_runtime::{CallContext, CallError, HealthSnapshot, Limits, LoadedPlugin, Scheduler};
use std::sync::{Arc, OnceLock, RwLock};

/// A configured plugin that could not be loaded, shown to operators.
#[derive(Debug, Clone)]
pub struct FailedPlugin {
    /// Where it came from (a path or `bundled:<name>`).
    pub source: String,
    /// Why it was refused.
    pub error: String,
}

/// A loaded plugin, to list and describe: its manifest, grant and health.
/// It cannot be called; ask [`PluginHost::gate`] for a [`Callable`].
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<LoadedPlugin>,
}

impl Plugin {
    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        self.inner.manifest()
    }

    /// The artifact it was loaded from.
    pub fn artifact(&self) -> &Artifact {
        self.inner.artifact()
    }

    /// Its environment: grant, settings, what it may reach.
    pub fn env(&self) -> &PluginEnv {
        self.inner.env()
    }

    /// The limits its calls run under.
    pub fn limits(&self) -> Limits {
        self.inner.limits()
    }

    /// Its calls, failures and denials since it was loaded.
    pub fn health(&self) -> HealthSnapshot {
        self.inner.health()
    }

    /// Whether its compiled code came from the cache.
    pub fn loaded_from_cache(&self) -> bool {
        self.inner.loaded_from_cache()
    }

    /// Whether this is the same build as `other`.
    pub fn same_as(&self, other: &Plugin) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// A plugin the gate let through: no admin suspended it and, if premium,
/// a licence lets it run. Only [`PluginHost::callable`] and
/// [`PluginHost::gate`] make one; hold it for one request.
pub struct Callable {
    inner: Arc<LoadedPlugin>,
}

impl Callable {
    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        self.inner.manifest()
    }

    /// Draws `slot` for `cx`.
    pub async fn render(&self, slot: &SlotDecl, cx: &CallContext) -> Result<View, CallError> {
        self.inner.render(slot, cx).await
    }

    /// Runs form action `name` with `fields`.
    pub async fn action(
        &self,
        name: &str,
        fields: Vec<(String, String)>,
        cx: &CallContext,
    ) -> Result<Outcome, CallError> {
        self.inner.action(name, fields, cx).await
    }

    /// Answers an API request, as `user` (none for a service).
    pub async fn handle(
        &self,
        request: Request,
        user: Option<greenroom_access::Identity>,
    ) -> Result<Response, CallError> {
        self.inner.handle(request, user).await
    }

    /// Runs its scheduled task `name` now.
    pub async fn run_task(&self, name: &str) -> Result<(), CallError> {
        self.inner.run_task(name).await
    }
}

/// The plugins this server runs (see the crate's documentation).
#[derive(Clone)]
pub struct PluginHost {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Replaced whole when a plugin is swapped; a request keeps the set it
    /// started with, so a swap never fails a request in flight.
    plugins: RwLock<Arc<[Plugin]>>,
    failed: Vec<FailedPlugin>,
    /// How new builds are loaded; none for a host given loaded plugins.
    loader: Option<Loader>,
    /// Set once the server runs: every plugin that comes or goes is
    /// (un)scheduled with it.
    scheduler: OnceLock<Scheduler>,
    pub(crate) licences: LicenceGate,
    pub(crate) suspensions: SuspensionGate,
}

impl PluginHost {
    /// A host serving `plugins`, loaded elsewhere (tests, benchmarks);
    /// `failed` lists those that could not be.
    pub fn new(plugins: Vec<LoadedPlugin>, failed: Vec<FailedPlugin>) -> PluginHost {
        PluginHost::with(None, plugins, failed)
    }

    /// Loads every entry with `loader` and serves what loaded. An entry
    /// that cannot be loaded (`label` says which) is listed with the
    /// reason and left out; two entries with one plugin id load the first.
    pub fn start(
        loader: Loader,
        entries: Vec<(String, anyhow::Result<PluginEntry>)>,
    ) -> PluginHost {
        let mut loaded: Vec<LoadedPlugin> = Vec::new();
        let mut failed = Vec::new();
        for (label, entry) in entries {
            let result = entry.and_then(|entry| {
                let prepared = prepare(&entry)?;
                let id = prepared.artifact.manifest().id.clone();
                if let Some(other) = loaded.iter().find(|l| l.manifest().id == id) {
                    anyhow::bail!(
                        "plugin id `{id}` is already loaded (version {})",
                        other.manifest().version
                    );
                }
                loader.load(prepared)
            });
            match result {
                Ok(plugin) => loaded.push(plugin),
                Err(error) => {
                    let error = format!("{error:#}");
                    tracing::error!(plugin = %label, "plugin not loaded: {error}");
                    failed.push(FailedPlugin {
                        source: label,
                        error,
                    });
                }
            }
        }
        PluginHost::with(Some(loader), loaded, failed)
    }

    fn with(
        loader: Option<Loader>,
        plugins: Vec<LoadedPlugin>,
        failed: Vec<FailedPlugin>,
    ) -> PluginHost {
        let plugins: Vec<Plugin> = plugins
            .into_iter()
            .map(|p| Plugin { inner: Arc::new(p) })
            .collect();
        PluginHost {
            inner: Arc::new(Inner {
                plugins: RwLock::new(plugins.into()),
                failed,
                loader,
                scheduler: OnceLock::new(),
                licences: LicenceGate::default(),
                suspensions: SuspensionGate::default(),
            }),
        }
    }

    /// The loaded plugins, in load order: a snapshot, unaffected by swaps
    /// made while it is held.
    pub fn list(&self) -> Arc<[Plugin]> {
        Arc::clone(&self.inner.plugins.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The loaded plugin with this id.
    pub fn get(&self, id: &str) -> Option<Plugin> {
        self.list()
            .iter()
            .find(|p| p.manifest().id.as_str() == id)
            .cloned()
    }

    /// Configured plugins that could not be loaded.
    pub fn failed(&self) -> &[FailedPlugin] {
        &self.inner.failed
    }

    /// How this host loads new builds, if it does.
    pub fn loader(&self) -> Option<&Loader> {
        self.inner.loader.as_ref()
    }

    /// Its loader, or the error for a host that was given none.
    pub(crate) fn require_loader(&self) -> anyhow::Result<&Loader> {
        self.loader()
            .ok_or_else(|| anyhow::anyhow!("this host was not given a loader"))
    }

    /// The loaded plugin with this id, if the host will call it now.
    pub fn callable(&self, id: &str) -> Result<Callable, Refusal> {
        let plugin = self
            .get(id)
            .ok_or_else(|| Refusal::NotLoaded(id.to_owned()))?;
        self.gate(&plugin)
    }

    /// `plugin`, if the host will call it now.
    pub fn gate(&self, plugin: &Plugin) -> Result<Callable, Refusal> {
        match self.refusal(plugin.manifest()) {
            Some(refusal) => Err(refusal),
            None => Ok(Callable {
                inner: Arc::clone(&plugin.inner),
            }),
        }
    }

    /// Why the host will not call the plugin `manifest` describes, if it
    /// will not: an admin suspended it, or it is premium and no licence
    /// lets it run.
    pub fn refusal(&self, manifest: &Manifest) -> Option<Refusal> {
        if self.suspension(manifest.id.as_str()).is_some() {
            return Some(Refusal::Suspended {
                title: "Disabled by an admin",
                message: format!(
                    "an admin turned {} off on this portal; it is not called until an admin turns it on again",
                    manifest.name
                ),
            });
        }
        let (title, message) = self.licence_status(manifest).refusal()?;
        Some(Refusal::Unlicensed { title, message })
    }

    /// Loads `entry` with this host's loader and swaps it in (see
    /// [`PluginHost::insert`]). A failure leaves the running build serving.
    pub fn load(&self, entry: &PluginEntry) -> anyhow::Result<Plugin> {
        let plugin = self.require_loader()?.load(prepare(entry)?)?;
        Ok(self.insert(plugin))
    }

    /// Puts `plugin` in place of the loaded plugin with the same id (or
    /// after the others when there is none), and schedules its tasks.
    /// Requests already running finish with the old one.
    pub fn insert(&self, plugin: LoadedPlugin) -> Plugin {
        let plugin = Plugin {
            inner: Arc::new(plugin),
        };
        {
            let mut plugins = self
                .inner
                .plugins
                .write()
                .unwrap_or_else(|p| p.into_inner());
            let id = plugin.manifest().id.clone();
            let mut next: Vec<Plugin> = plugins.to_vec();
            match next.iter().position(|p| p.manifest().id == id) {
                Some(i) => next[i] = plugin.clone(),
                None => next.push(plugin.clone()),
            }
            *plugins = next.into();
        }
        if let Some(scheduler) = self.inner.scheduler.get() {
            scheduler.schedule(Arc::clone(&plugin.inner));
        }
        plugin
    }

    /// Stops serving the plugin with this id and running its tasks;
    /// requests already running finish with it.
    pub fn remove(&self, id: &str) {
        {
            let mut plugins = self
                .inner
                .plugins
                .write()
                .unwrap_or_else(|p| p.into_inner());
            let next: Vec<Plugin> = plugins
                .iter()
                .filter(|p| p.manifest().id.as_str() != id)
                .cloned()
                .collect();
            *plugins = next.into();
        }
        if let Some(scheduler) = self.inner.scheduler.get() {
            scheduler.unschedule(id);
        }
    }

    /// Starts running the scheduled tasks of every plugin, now and as
    /// plugins are swapped in and out; each run asks the gate first. Call
    /// it once, inside the tokio runtime the server runs on.
    pub fn start_scheduler(&self) -> Scheduler {
        // A weak reference: the schedule lives in the host it asks.
        let host = Arc::downgrade(&self.inner);
        let scheduler = self.inner.scheduler.get_or_init(|| {
            Scheduler::new(Arc::new(move |plugin: &LoadedPlugin| {
                host.upgrade()
                    .is_some_and(|inner| PluginHost { inner }.refusal(plugin.manifest()).is_none())
            }))
        });
        for plugin in self.list().iter() {
            scheduler.schedule(Arc::clone(&plugin.inner));
        }
        scheduler.clone()
    }

    /// Runs every loaded plugin's scheduled tasks once now, in the order
    /// its manifest declares them, for those the gate lets through: what
    /// `--demo` does once the demo catalog is read, so its pages are full
    /// at once rather than after the first interval. Failures are logged
    /// and counted on the plugin's health, as for scheduled runs.
    pub async fn run_tasks_once(&self) {
        for plugin in self.list().iter() {
            let Ok(callable) = self.gate(plugin) else {
                continue;
            };
            for task in &plugin.manifest().tasks {
                if callable.run_task(&task.name).await.is_ok() {
                    tracing::info!(plugin = %plugin.manifest().id, task = %task.name, "task ran at start");
                }
            }
        }
    }
}
