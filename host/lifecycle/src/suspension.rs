//! Plugins an admin turned off from their health page.
//!
//! A plugin from the configuration file that keeps failing can be
//! suspended: it stays loaded (its health page still shows it, and an admin
//! turns it on again there) but [`PluginHost::callable`] refuses it. Its
//! slots show a card saying an admin disabled it, its API answers 503, its
//! actions are refused and its scheduled tasks are skipped — the same
//! places an unlicensed premium plugin is stopped. The set is kept in the
//! data directory's database ([`Suspensions`]) and read when
//! administration is turned on, so a restart keeps it off. Installed
//! plugins are disabled through the marketplace instead, which stops
//! serving them.

use crate::PluginHost;
use greenroom_marketplace::{Suspension, SuspensionError, Suspensions};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The suspended plugins, by id, as last read or written.
#[derive(Default)]
pub(crate) struct SuspensionGate {
    suspended: RwLock<Arc<BTreeMap<String, Suspension>>>,
}

impl PluginHost {
    /// The suspension of the plugin with this id, if an admin turned it
    /// off.
    pub fn suspension(&self, id: &str) -> Option<Suspension> {
        self.suspended().get(id).cloned()
    }

    /// Reads which plugins are suspended. Called when administration is
    /// turned on, before serving; a database error is logged and leaves
    /// every plugin on.
    pub fn load_suspensions(&self, suspensions: &Suspensions) {
        match suspensions.list() {
            Ok(list) => {
                for suspension in &list {
                    tracing::info!(plugin = %suspension.id, by = %suspension.actor, "plugin is disabled by an admin; it is not called until turned on again");
                }
                self.update_suspended(|suspended| {
                    *suspended = list.into_iter().map(|s| (s.id.clone(), s)).collect();
                });
            }
            Err(error) => tracing::error!(%error, "cannot read the plugins admins disabled"),
        }
    }

    /// Turns the plugin with this id off, durably, as `actor` (audited).
    /// Blocking: call it off the async runtime.
    pub fn suspend(
        &self,
        suspensions: &Suspensions,
        id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Suspension, SuspensionError> {
        let suspension = suspensions.suspend(id, actor, reason)?;
        self.update_suspended(|suspended| {
            suspended.insert(id.to_owned(), suspension.clone());
        });
        Ok(suspension)
    }

    /// Turns the plugin with this id on again, as `actor` (audited).
    /// Whether it was off. Blocking: call it off the async runtime.
    pub fn resume(
        &self,
        suspensions: &Suspensions,
        id: &str,
        actor: &str,
    ) -> Result<bool, SuspensionError> {
        let resumed = suspensions.resume(id, actor)?;
        self.update_suspended(|suspended| {
            suspended.remove(id);
        });
        Ok(resumed)
    }

    fn suspended(&self) -> Arc<BTreeMap<String, Suspension>> {
        Arc::clone(
            &self
                .inner
                .suspensions
                .suspended
                .read()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// Replaces the set with a changed copy: readers (every plugin call)
    /// never wait for a writer's database work.
    fn update_suspended(&self, change: impl FnOnce(&mut BTreeMap<String, Suspension>)) {
        let mut current = self
            .inner
            .suspensions
            .suspended
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let mut next = BTreeMap::clone(&current);
        change(&mut next);
        *current = Arc::new(next);
    }
}
