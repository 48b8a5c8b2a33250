//! Plugins an admin turned off from their health page, and the one check
//! every call site asks before calling a plugin ([`AppState::refusal`]).
//!
//! A plugin from the configuration file that keeps failing can be
//! suspended: it stays loaded (its health page still shows it, and an admin
//! turns it on again there) but it is never called. Its slots show a card
//! saying an admin disabled it, its API answers 503, its actions are
//! refused and its scheduled tasks are skipped — the same places an
//! unlicensed premium plugin is stopped (see the `licensing` module). The
//! set is kept in the data directory's database
//! ([`greenroom_marketplace::Suspensions`]) and read when administration is
//! turned on, so a restart keeps it off. Installed plugins are disabled
//! through the marketplace instead, which stops serving them.

use crate::admin::Admin;
use crate::error::ErrorKind;
use crate::state::AppState;
use greenroom_contract::Manifest;
use greenroom_marketplace::{Suspension, SuspensionError, Suspensions};
use maud::Markup;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The suspended plugins, by id, as last read or written.
#[derive(Default)]
pub(crate) struct SuspensionGate {
    suspended: RwLock<Arc<BTreeMap<String, Suspension>>>,
}

/// Why the host will not call a plugin now.
pub(crate) struct Refusal {
    /// A short title for its card.
    pub title: &'static str,
    /// A sentence for the people using the portal.
    pub message: String,
    suspended: bool,
}

impl Refusal {
    /// The card drawn in place of the plugin's slot.
    pub(crate) fn card(&self) -> Markup {
        crate::licensing::licence_card(self.title, &self.message)
    }

    /// The error for a request the plugin would have answered; `context`
    /// says what was refused, e.g. "plugin `hello`".
    pub(crate) fn error(&self, context: &str) -> ErrorKind {
        let message = format!("{context}: {}", self.message);
        if self.suspended {
            ErrorKind::Disabled(message)
        } else {
            ErrorKind::Unlicensed(message)
        }
    }
}

impl AppState {
    /// Why the host will not call this plugin, if it will not: an admin
    /// suspended it, or it is premium without a licence that runs.
    pub(crate) fn refusal(&self, manifest: &Manifest) -> Option<Refusal> {
        if self.suspension(manifest.id.as_str()).is_some() {
            return Some(Refusal {
                title: "Disabled by an admin",
                message: format!(
                    "an admin turned {} off on this portal; it is not called until an admin turns it on again",
                    manifest.name
                ),
                suspended: true,
            });
        }
        let (title, message) = self.licence_refusal(manifest)?;
        Some(Refusal {
            title,
            message,
            suspended: false,
        })
    }

    /// The suspension of the plugin with this id, if an admin turned it
    /// off.
    pub(crate) fn suspension(&self, id: &str) -> Option<Suspension> {
        self.gate().get(id).cloned()
    }

    /// Reads which plugins are suspended. Called when administration is
    /// turned on, before serving; a database error is logged and leaves
    /// every plugin on.
    pub(crate) fn load_suspensions(&self, suspensions: &Suspensions) {
        match suspensions.list() {
            Ok(list) => {
                for suspension in &list {
                    tracing::info!(plugin = %suspension.id, by = %suspension.actor, "plugin is disabled by an admin; it is not called until turned on again");
                }
                self.update_gate(|suspended| {
                    *suspended = list.into_iter().map(|s| (s.id.clone(), s)).collect();
                });
            }
            Err(error) => tracing::error!(%error, "cannot read the plugins admins disabled"),
        }
    }

    /// Turns the plugin with this id off, durably, as `actor` (audited).
    /// Blocking: call it off the async runtime.
    pub(crate) fn suspend(
        &self,
        admin: &Admin,
        id: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Suspension, SuspensionError> {
        let suspension = admin.marketplace.suspensions().suspend(id, actor, reason)?;
        self.update_gate(|suspended| {
            suspended.insert(id.to_owned(), suspension.clone());
        });
        Ok(suspension)
    }

    /// Turns the plugin with this id on again, as `actor` (audited).
    /// Whether it was off. Blocking: call it off the async runtime.
    pub(crate) fn resume(
        &self,
        admin: &Admin,
        id: &str,
        actor: &str,
    ) -> Result<bool, SuspensionError> {
        let resumed = admin.marketplace.suspensions().resume(id, actor)?;
        self.update_gate(|suspended| {
            suspended.remove(id);
        });
        Ok(resumed)
    }

    fn gate(&self) -> Arc<BTreeMap<String, Suspension>> {
        Arc::clone(
            &self
                .suspension_gate()
                .suspended
                .read()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// Replaces the set with a changed copy: readers (every plugin call)
    /// never wait for a writer's database work.
    fn update_gate(&self, change: impl FnOnce(&mut BTreeMap<String, Suspension>)) {
        let mut current = self
            .suspension_gate()
            .suspended
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let mut next = BTreeMap::clone(&current);
        change(&mut next);
        *current = Arc::new(next);
    }
}
