//! Runs plugins' scheduled tasks, as declared in their manifests
//! (`[[tasks]] name = "…" every = "1h"`).

use crate::plugin::LoadedPlugin;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// The running schedule. Dropping it stops every task between runs (a run
/// in progress finishes under its own deadline).
pub struct Scheduler {
    loops: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts one loop per task of every plugin: the first run one interval
    /// after start (so a restart does not stampede every task at once),
    /// then every interval. Runs of one task never overlap: a run longer
    /// than the interval delays the next. Failures are logged and counted
    /// on the plugin's health like any call's. Call it inside a tokio
    /// runtime.
    pub fn start(plugins: &[Arc<LoadedPlugin>]) -> Scheduler {
        let mut loops = Vec::new();
        for plugin in plugins {
            for task in &plugin.manifest().tasks {
                let plugin = plugin.clone();
                let (name, every) = (task.name.clone(), task.every);
                loops.push(tokio::spawn(async move {
                    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
                    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    loop {
                        ticks.tick().await;
                        match plugin.run_task(&name).await {
                            Ok(()) => tracing::debug!(plugin = %plugin.manifest().id, task = %name, "scheduled task ran"),
                            // Already logged and counted by the call itself.
                            Err(_) => continue,
                        }
                    }
                }));
            }
        }
        Scheduler { loops }
    }

    /// How many task loops are running.
    pub fn len(&self) -> usize {
        self.loops.len()
    }

    /// Whether no plugin has a scheduled task.
    pub fn is_empty(&self) -> bool {
        self.loops.is_empty()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        for task in &self.loops {
            task.abort();
        }
    }
}
