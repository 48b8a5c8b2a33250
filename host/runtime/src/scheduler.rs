//! Runs plugins' scheduled tasks, as declared in their manifests
//! (`[[tasks]] name = "…" every = "1h"`).

use crate::plugin::LoadedPlugin;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Whether a plugin's task may run now (a premium plugin without a valid
/// licence may not). Asked before every run.
pub type TaskGate = Arc<dyn Fn(&LoadedPlugin) -> bool + Send + Sync>;

/// The running schedule: one loop per task of every scheduled plugin.
/// Plugins come and go while the host serves (installs, upgrades, dev
/// reloads); [`Scheduler::schedule`] replaces a plugin's loops with the new
/// build's. Dropping the last clone stops every loop between runs (a run in
/// progress finishes under its own deadline).
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

struct Inner {
    handle: Handle,
    gate: TaskGate,
    /// Plugin id → its task loops.
    loops: Mutex<HashMap<String, Vec<JoinHandle<()>>>>,
}

impl Scheduler {
    /// An empty schedule whose loops run on the current tokio runtime and
    /// ask `gate` before each run. Call it inside a tokio runtime.
    pub fn new(gate: TaskGate) -> Scheduler {
        Scheduler {
            inner: Arc::new(Inner {
                handle: Handle::current(),
                gate,
                loops: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A schedule running every task of `plugins`, with no gate.
    pub fn start(plugins: &[Arc<LoadedPlugin>]) -> Scheduler {
        let scheduler = Scheduler::new(Arc::new(|_| true));
        for plugin in plugins {
            scheduler.schedule(Arc::clone(plugin));
        }
        scheduler
    }

    /// Starts one loop per task of `plugin`, stopping the loops of any
    /// plugin scheduled before with the same id. The first run comes one
    /// interval after scheduling (so neither a restart nor an upgrade
    /// stampedes every task at once), then every interval. Runs of one
    /// task never overlap: a run longer than the interval delays the next.
    /// Failures are logged and counted on the plugin's health like any
    /// call's. A run holds an instance slot only within the tasks' share of
    /// the pool (`max-task-instances`), so runs never take every slot from
    /// pages; one that gets no slot before its deadline fails as busy.
    pub fn schedule(&self, plugin: Arc<LoadedPlugin>) {
        let id = plugin.manifest().id.to_string();
        let mut loops = Vec::new();
        for task in &plugin.manifest().tasks {
            let plugin = Arc::clone(&plugin);
            let gate = Arc::clone(&self.inner.gate);
            let (name, every) = (task.name.clone(), task.every);
            loops.push(self.inner.handle.spawn(async move {
                let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    if !gate(&plugin) {
                        tracing::debug!(plugin = %plugin.manifest().id, task = %name, "scheduled task skipped: not allowed to run now");
                        continue;
                    }
                    // A failure is already logged and counted by the call.
                    if plugin.run_task(&name).await.is_ok() {
                        tracing::debug!(plugin = %plugin.manifest().id, task = %name, "scheduled task ran");
                    }
                }
            }));
        }
        let old = self.lock().insert(id, loops);
        abort(old);
    }

    /// Stops the loops of the plugin with this id.
    pub fn unschedule(&self, id: &str) {
        let old = self.lock().remove(id);
        abort(old);
    }

    /// How many task loops are running.
    pub fn len(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Whether no plugin has a scheduled task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<JoinHandle<()>>>> {
        self.inner.loops.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn abort(loops: Option<Vec<JoinHandle<()>>>) {
    for task in loops.into_iter().flatten() {
        task.abort();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let loops = self.loops.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, tasks) in loops.drain() {
            abort(Some(tasks));
        }
    }
}
