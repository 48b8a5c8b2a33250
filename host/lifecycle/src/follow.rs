//! Following what is installed on the data directory while the server
//! runs.

use crate::{PluginEntry, PluginHost, PluginSource};
use anyhow::bail;
use greenroom_marketplace::{Installed, InstalledPlugins};
use greenroom_runtime::Limits;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How often a running server looks at the installed plugins when nobody
/// rings (an install by the CLI on the data directory rings no bell).
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// What became of each installed plugin the server tried to load, and a
/// bell to ring when the records change so the follower looks at once.
#[derive(Default)]
pub struct Loads {
    status: Mutex<HashMap<String, LoadStatus>>,
    generation: Mutex<u64>,
    bell: Condvar,
}

/// The outcome of loading one installed plugin's current record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoadStatus {
    /// The version loaded (or tried).
    pub version: String,
    /// The artifact's sha256.
    pub sha256: String,
    /// The grants it was loaded with.
    pub grants: Vec<String>,
    /// `None` when it loaded; otherwise why not.
    pub error: Option<String>,
}

impl Loads {
    /// Tells the follower the records changed.
    pub fn ring(&self) {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.bell.notify_all();
    }

    /// Waits until [`Loads::ring`] is called or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let generation = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        let seen = *generation;
        let _ = self
            .bell
            .wait_timeout_while(generation, timeout, |g| *g == seen);
    }

    /// Records what became of loading `id`.
    pub fn set(&self, id: &str, status: LoadStatus) {
        self.lock().insert(id.to_owned(), status);
        self.bell.notify_all();
    }

    /// Forgets `id` (it was removed or disabled).
    pub fn clear(&self, id: &str) {
        self.lock().remove(id);
    }

    /// What became of loading `id`.
    pub fn get(&self, id: &str) -> Option<LoadStatus> {
        self.lock().get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LoadStatus>> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PluginHost {
    /// Follows the installed plugins on a thread of its own: when rung (an
    /// install through the admin API) and every few seconds (an install by
    /// the CLI on the data directory) it loads what was installed or
    /// upgraded (compiled before it is swapped in, so the old build serves
    /// until then, and a failed load leaves it serving), and drops what was
    /// removed or disabled. What became of each load is reported in
    /// `loads`. The same look reloads the published roles and policies
    /// (`greenroom rbac import` on the data directory), so one thread
    /// follows what the CLI changes offline. Plugins whose ids are in
    /// `configured` (the configuration file's) win over installed ones.
    /// Does nothing for a host without a loader.
    pub fn follow_installed(
        &self,
        configured: Vec<String>,
        limits: Limits,
        loads: Arc<Loads>,
    ) -> Option<std::thread::JoinHandle<()>> {
        let loader = self.loader()?.clone();
        let host = self.clone();
        Some(std::thread::spawn(move || {
            let records = InstalledPlugins::new(loader.database().clone());
            // What this loop loaded: id → (sha256, grants).
            let mut loaded: HashMap<String, (String, Vec<String>)> = HashMap::new();
            loop {
                if let Err(error) = loader.rbac().reload() {
                    tracing::error!(%error, "cannot read the published roles and policies");
                }
                match records.list() {
                    Ok(list) => reconcile(
                        &list,
                        &mut loaded,
                        &configured,
                        |record| {
                            let result = host.load_installed(record, limits);
                            let error = result.as_ref().err().map(|e| format!("{e:#}"));
                            match &error {
                                None => {
                                    tracing::info!(plugin = %record.id, version = %record.version, "installed plugin loaded");
                                }
                                Some(error) => {
                                    tracing::error!(plugin = %record.id, "installed plugin not loaded: {error}");
                                }
                            }
                            loads.set(
                                &record.id,
                                LoadStatus {
                                    version: record.version.clone(),
                                    sha256: record.sha256.clone(),
                                    grants: record.grants.clone(),
                                    error,
                                },
                            );
                        },
                        |id| {
                            host.remove(id);
                            loads.clear(id);
                            tracing::info!(plugin = %id, "installed plugin unloaded");
                        },
                    ),
                    Err(error) => tracing::error!(%error, "cannot read the installed plugins"),
                }
                loads.wait(FOLLOW_EVERY);
            }
        }))
    }

    /// Loads an installed plugin as a configured entry would be, after
    /// checking that its verified copy was not changed since, and swaps it
    /// in.
    fn load_installed(&self, record: &Installed, limits: Limits) -> anyhow::Result<()> {
        let entry = installed_entry(record, limits);
        let prepared = crate::prepare(&entry)?;
        if prepared.artifact.digest().hex() != record.sha256 {
            bail!(
                "{} changed on disk since it was verified; install it again",
                record.artifact
            );
        }
        self.insert(self.require_loader()?.load(prepared)?);
        Ok(())
    }
}

/// The entry an installed record stands for: its verified copy, with the
/// grants consented to.
fn installed_entry(record: &Installed, limits: Limits) -> PluginEntry {
    PluginEntry {
        source: PluginSource::File(PathBuf::from(&record.artifact)),
        grant: record.grants.clone(),
        settings: serde_json::Map::new(),
        limits,
    }
}

/// Brings `loaded` in line with the records: loads what is enabled and new
/// or changed (a failed load is not retried until its record changes), and
/// unloads what is no longer installed and enabled. Plugins in the
/// configuration win over installed ones of the same id.
fn reconcile(
    records: &[Installed],
    loaded: &mut HashMap<String, (String, Vec<String>)>,
    configured: &[String],
    mut load: impl FnMut(&Installed),
    mut unload: impl FnMut(&str),
) {
    for record in records {
        if configured.contains(&record.id) || !record.enabled {
            continue;
        }
        let current = (record.sha256.clone(), record.grants.clone());
        if loaded.get(&record.id) != Some(&current) {
            load(record);
            loaded.insert(record.id.clone(), current);
        }
    }
    let gone: Vec<String> = loaded
        .keys()
        .filter(|id| !records.iter().any(|r| r.enabled && &r.id == *id))
        .cloned()
        .collect();
    for id in gone {
        unload(&id);
        loaded.remove(&id);
    }
}
