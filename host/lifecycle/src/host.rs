//! The live set of plugins, swapped whole, and the gate in front of it.

use crate::Refusal;
use crate::licensing::LicenceGate;
use crate::load::{Loader, PluginEntry, Unbuilt, prepare};
use crate::suspension::SuspensionGate;
use greenroom_broker::PluginEnv;
use greenroom_contract::{Artifact, Manifest, SlotDecl};
use greenroom_runtime::types::{Outcome, Request, Response};
use greenroom_runtime::view::View;
use greenroom_runtime::{
    CallContext, CallError, HealthSnapshot, Limits, LoadedPlugin, PluginHealth, Scheduler,
};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;
use tokio::sync::watch;

/// A configured plugin that could not be loaded, shown to operators.
#[derive(Debug, Clone)]
pub struct FailedPlugin {
    /// Where it came from (a path or `bundled:<name>`).
    pub source: String,
    /// Why it was refused.
    pub error: String,
}

/// A plugin this host serves, to list and describe: its manifest, grant
/// and health. It cannot be called; ask [`PluginHost::gate`] for a
/// [`Callable`]. Just after a start it may still be compiling
/// ([`Plugin::is_starting`]): listed, with its slots, but not callable yet.
#[derive(Clone)]
pub struct Plugin {
    build: Build,
}

#[derive(Clone)]
enum Build {
    /// Compiled and linked.
    Ready(Arc<LoadedPlugin>),
    /// Checked and given its environment; compiling in the background.
    Starting(Arc<Unbuilt>),
}

impl Plugin {
    fn ready(plugin: LoadedPlugin) -> Plugin {
        Plugin {
            build: Build::Ready(Arc::new(plugin)),
        }
    }

    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        self.artifact().manifest()
    }

    /// The artifact it was loaded from.
    pub fn artifact(&self) -> &Artifact {
        match &self.build {
            Build::Ready(plugin) => plugin.artifact(),
            Build::Starting(unbuilt) => &unbuilt.artifact,
        }
    }

    /// Its environment: grant, settings, what it may reach.
    pub fn env(&self) -> &PluginEnv {
        match &self.build {
            Build::Ready(plugin) => plugin.env(),
            Build::Starting(unbuilt) => &unbuilt.env,
        }
    }

    /// The limits its calls run under.
    pub fn limits(&self) -> Limits {
        match &self.build {
            Build::Ready(plugin) => plugin.limits(),
            Build::Starting(unbuilt) => unbuilt.limits,
        }
    }

    /// Its calls, failures and denials since it was loaded (none while it
    /// is starting).
    pub fn health(&self) -> HealthSnapshot {
        match &self.build {
            Build::Ready(plugin) => plugin.health(),
            Build::Starting(_) => PluginHealth::default().snapshot(),
        }
    }

    /// Whether its compiled code came from the cache.
    pub fn loaded_from_cache(&self) -> bool {
        match &self.build {
            Build::Ready(plugin) => plugin.loaded_from_cache(),
            Build::Starting(_) => false,
        }
    }

    /// Whether the server is still compiling it, just after it started.
    pub fn is_starting(&self) -> bool {
        matches!(self.build, Build::Starting(_))
    }

    /// Whether this is the same build as `other`.
    pub fn same_as(&self, other: &Plugin) -> bool {
        match (&self.build, &other.build) {
            (Build::Ready(a), Build::Ready(b)) => Arc::ptr_eq(a, b),
            (Build::Starting(a), Build::Starting(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn is_build_of(&self, unbuilt: &Arc<Unbuilt>) -> bool {
        matches!(&self.build, Build::Starting(own) if Arc::ptr_eq(own, unbuilt))
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
    failed: RwLock<Vec<FailedPlugin>>,
    /// How many listed plugins are still starting: counted from the list
    /// at every swap, never kept apart from it.
    starting: watch::Sender<usize>,
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
        PluginHost::with(
            None,
            plugins.into_iter().map(Plugin::ready).collect(),
            failed,
        )
    }

    /// Checks every entry and serves them at once, compiling them in the
    /// background, several at a time: until a plugin is compiled it is
    /// listed with its slots but [`PluginHost::gate`] refuses it as
    /// [`Refusal::Starting`], so pages draw a "starting" card in its place
    /// rather than waiting for the slowest compile. [`PluginHost::started`]
    /// waits for them all. An entry that cannot be loaded (`label` says
    /// which) is listed with the reason and left out, whether the check or
    /// the compile refused it; two entries with one plugin id load the
    /// first.
    pub fn start(
        loader: Loader,
        entries: Vec<(String, anyhow::Result<PluginEntry>)>,
    ) -> PluginHost {
        let mut unbuilt: Vec<(String, Arc<Unbuilt>)> = Vec::new();
        let mut failed = Vec::new();
        for (label, entry) in entries {
            let result = entry.and_then(|entry| {
                let prepared = prepare(&entry)?;
                let manifest = prepared.artifact.manifest();
                if let Some((_, other)) = unbuilt
                    .iter()
                    .find(|(_, other)| other.artifact.manifest().id == manifest.id)
                {
                    anyhow::bail!(
                        "plugin id `{}` is already loaded (version {})",
                        manifest.id,
                        other.artifact.manifest().version
                    );
                }
                loader.environment(prepared)
            });
            match result {
                Ok(plugin) => unbuilt.push((label, Arc::new(plugin))),
                Err(error) => failed.push(refused(label, &error)),
            }
        }
        let plugins = unbuilt
            .iter()
            .map(|(_, plugin)| Plugin {
                build: Build::Starting(Arc::clone(plugin)),
            })
            .collect();
        let host = PluginHost::with(Some(loader), plugins, failed);
        host.compile_in_background(unbuilt);
        host
    }

    fn with(loader: Option<Loader>, plugins: Vec<Plugin>, failed: Vec<FailedPlugin>) -> PluginHost {
        let starting = plugins.iter().filter(|p| p.is_starting()).count();
        PluginHost {
            inner: Arc::new(Inner {
                plugins: RwLock::new(plugins.into()),
                failed: RwLock::new(failed),
                starting: watch::Sender::new(starting),
                loader,
                scheduler: OnceLock::new(),
                licences: LicenceGate::default(),
                suspensions: SuspensionGate::default(),
            }),
        }
    }

    /// Compiles `unbuilt` on threads of its own, as many at once as the
    /// machine has cores, swapping each in as it is ready: a small plugin
    /// is not kept waiting behind a large one.
    fn compile_in_background(&self, unbuilt: Vec<(String, Arc<Unbuilt>)>) {
        if unbuilt.is_empty() {
            return;
        }
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(unbuilt.len());
        let count = unbuilt.len();
        let queue = Arc::new(Mutex::new(unbuilt.into_iter()));
        let (host, work) = (self.clone(), Arc::clone(&queue));
        let spawned = std::thread::Builder::new()
            .name("plugin-compile".into())
            .spawn(move || {
                let started = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..workers {
                        scope.spawn(|| {
                            while let Some((label, plugin)) =
                                work.lock().unwrap_or_else(|p| p.into_inner()).next()
                            {
                                host.finish_starting(label, &plugin);
                            }
                        });
                    }
                });
                tracing::info!(
                    plugins = count,
                    failed = host.failed().len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "plugins started"
                );
            });
        if let Err(error) = spawned {
            // No thread to spare: compile here, as a start always could.
            tracing::warn!("no thread to compile plugins on ({error}); compiling them now");
            let left: Vec<_> = queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .by_ref()
                .collect();
            for (label, plugin) in left {
                self.finish_starting(label, &plugin);
            }
        }
    }

    /// Compiles one plugin of the start and swaps it in where its
    /// "starting" entry is, or lists it as failed. An entry swapped out
    /// meanwhile (removed, or replaced by a newer build) stays out.
    fn finish_starting(&self, label: String, unbuilt: &Arc<Unbuilt>) {
        let compiled = self
            .require_loader()
            .and_then(|loader| loader.compile(unbuilt));
        match compiled {
            Ok(plugin) => {
                let plugin = Plugin::ready(plugin);
                if self.swap(
                    |plugins| match plugins.iter_mut().find(|p| p.is_build_of(unbuilt)) {
                        Some(slot) => {
                            *slot = plugin.clone();
                            true
                        }
                        None => false,
                    },
                ) {
                    self.schedule(&plugin);
                }
            }
            Err(error) => {
                // Listed as failed before it leaves the list, so nobody
                // who sees the start finished misses it.
                let failed = refused(label, &error);
                self.inner
                    .failed
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(failed);
                self.swap(|plugins| {
                    let before = plugins.len();
                    plugins.retain(|p| !p.is_build_of(unbuilt));
                    plugins.len() < before
                });
            }
        }
    }

    /// Changes the set of plugins with `change`, which says whether it
    /// changed anything; a request keeps the set it already holds. How many
    /// are starting is counted from the new set, so a starting plugin
    /// removed or replaced meanwhile is never waited for.
    fn swap(&self, change: impl FnOnce(&mut Vec<Plugin>) -> bool) -> bool {
        let mut plugins = self
            .inner
            .plugins
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let mut next: Vec<Plugin> = plugins.to_vec();
        let changed = change(&mut next);
        if changed {
            let starting = next.iter().filter(|p| p.is_starting()).count();
            *plugins = next.into();
            self.inner.starting.send_replace(starting);
        }
        changed
    }

    /// Runs `plugin`'s tasks, if the schedule runs and it is ready.
    fn schedule(&self, plugin: &Plugin) {
        if let (Some(scheduler), Build::Ready(inner)) = (self.inner.scheduler.get(), &plugin.build)
        {
            scheduler.schedule(Arc::clone(inner));
        }
    }

    /// Waits until every plugin of the start is compiled (or failed).
    pub async fn started(&self) {
        let mut starting = self.inner.starting.subscribe();
        // The sender lives as long as the host, which `self` holds.
        let _ = starting.wait_for(|n| *n == 0).await;
    }

    /// Whether every plugin of the start is compiled (or failed).
    pub fn is_started(&self) -> bool {
        *self.inner.starting.borrow() == 0
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
    pub fn failed(&self) -> Vec<FailedPlugin> {
        self.inner
            .failed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
        if let Some(refusal) = self.refusal(plugin.manifest()) {
            return Err(refusal);
        }
        match &plugin.build {
            Build::Ready(inner) => Ok(Callable {
                inner: Arc::clone(inner),
            }),
            Build::Starting(_) => Err(Refusal::Starting(plugin.manifest().name.clone())),
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
        let plugin = Plugin::ready(plugin);
        self.swap(|plugins| {
            let id = &plugin.manifest().id;
            match plugins.iter().position(|p| p.manifest().id == *id) {
                Some(i) => plugins[i] = plugin.clone(),
                None => plugins.push(plugin.clone()),
            }
            true
        });
        self.schedule(&plugin);
        plugin
    }

    /// Stops serving the plugin with this id and running its tasks;
    /// requests already running finish with it.
    pub fn remove(&self, id: &str) {
        self.swap(|plugins| {
            plugins.retain(|p| p.manifest().id.as_str() != id);
            true
        });
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
            self.schedule(plugin);
        }
        scheduler.clone()
    }

    /// Runs every loaded plugin's scheduled tasks once now, in the order
    /// its manifest declares them, for those the gate lets through: what
    /// `--demo` does once the demo catalog is read, so its pages are full
    /// at once rather than after the first interval. Failures are logged
    /// and counted on the plugin's health, as for scheduled runs. Waits
    /// for the plugins of the start first.
    pub async fn run_tasks_once(&self) {
        self.started().await;
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

/// The entry `label` refused for `error`, logged for the operator.
fn refused(label: String, error: &anyhow::Error) -> FailedPlugin {
    let error = format!("{error:#}");
    tracing::error!(plugin = %label, "plugin not loaded: {error}");
    FailedPlugin {
        source: label,
        error,
    }
}
