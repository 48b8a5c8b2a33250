//! Premium licences: which plugins may be called, and the seats people
//! use.
//!
//! A premium plugin without a licence that runs ([`LicenceStatus::runs`])
//! is never called: [`PluginHost::callable`] refuses it, so its slots show
//! a card saying why, its API answers `402`, its actions are refused and
//! its scheduled tasks are skipped. Its stored data is left as it is, so
//! renewing finds everything again.
//!
//! Statuses are computed from the data directory's database and cached
//! here; [`PluginHost::follow_licences`] recomputes them every minute (so
//! expiry happens at midnight UTC give or take a minute) and within
//! seconds of a licence being added or removed, by this server or by
//! `greenroom licence add` on the same data directory.

use crate::PluginHost;
use greenroom_access::Identity;
use greenroom_contract::{Manifest, Tier};
use greenroom_licensing::{Day, LicenceStatus, Licences};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// How often the follower looks for licences added or removed (or new
/// people active) by another process: cheap (one small query), and quick
/// enough that `greenroom licence add` feels immediate.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// How often statuses are recomputed even when nothing was added: the day
/// may have changed, and with it expiry and grace periods.
const RECOMPUTE_EVERY: Duration = Duration::from_secs(60);

/// Whether licences are checked, and the statuses last computed.
#[derive(Default)]
pub(crate) struct LicenceGate {
    /// Unset: no licence book was given, so no premium plugin runs.
    mode: OnceLock<Mode>,
    /// Plugin id → status, for the premium plugins loaded.
    statuses: RwLock<Arc<HashMap<String, LicenceStatus>>>,
    /// The day each user's activity was last recorded, so it is written
    /// once a day per user, not on every request.
    recorded: Mutex<HashMap<String, Day>>,
}

enum Mode {
    /// Premium plugins run with a licence from this book.
    Enforced(Licences),
    /// Every plugin runs (`greenroom plugin dev`: an author runs their
    /// own premium plugin).
    Waived,
}

impl PluginHost {
    /// Checks premium plugins' licences against `licences` from now on, and
    /// records users' activity in it for seat counting. Call it once,
    /// before serving. Until it is called, no premium plugin runs.
    pub fn set_licences(&self, licences: Licences) {
        if self
            .inner
            .licences
            .mode
            .set(Mode::Enforced(licences))
            .is_ok()
        {
            self.refresh_licences();
        }
    }

    /// Lets every premium plugin run without a licence: for `greenroom
    /// plugin dev` only, where authors run plugins they are building.
    pub fn waive_licences(&self) {
        let _ = self.inner.licences.mode.set(Mode::Waived);
    }

    /// The licences, when they are checked: for the admin page to add,
    /// list and remove them (call [`PluginHost::refresh_licences`] after a
    /// change).
    pub fn licences(&self) -> Option<&Licences> {
        match self.inner.licences.mode.get() {
            Some(Mode::Enforced(licences)) => Some(licences),
            _ => None,
        }
    }

    /// Whether the host may call the loaded plugin with this id now (the
    /// scheduler asks before each task run). False for a plugin not loaded.
    pub fn licensed(&self, plugin_id: &str) -> bool {
        self.get(plugin_id)
            .is_some_and(|plugin| self.licence_status(plugin.manifest()).runs())
    }

    /// The licence status of every loaded premium plugin, in load order:
    /// for the admin page.
    pub fn licence_statuses(&self) -> Vec<(String, LicenceStatus)> {
        self.list()
            .iter()
            .map(|plugin| plugin.manifest())
            .filter(|manifest| manifest.tier == Tier::Premium)
            .map(|manifest| (manifest.id.to_string(), self.licence_status(manifest)))
            .collect()
    }

    /// What admins should act on: licences over their seats (with the day
    /// the plugin stops) and licences expiring within two weeks.
    pub fn licence_warnings(&self) -> Vec<String> {
        let today = Day::of(SystemTime::now());
        self.licence_statuses()
            .iter()
            .filter_map(|(id, status)| status.warning(id, today))
            .collect()
    }

    /// Recomputes every loaded premium plugin's status now. Reads the
    /// database: call it off the async runtime (`spawn_blocking`).
    pub fn refresh_licences(&self) {
        let Some(Mode::Enforced(licences)) = self.inner.licences.mode.get() else {
            return;
        };
        let plugins = self.list();
        let premium: Vec<(&str, Tier)> = plugins
            .iter()
            .map(|plugin| plugin.manifest())
            .filter(|manifest| manifest.tier == Tier::Premium)
            .map(|manifest| (manifest.id.as_str(), manifest.tier))
            .collect();
        match licences.statuses(&premium, SystemTime::now()) {
            Ok(statuses) => {
                for (id, status) in &statuses {
                    tracing::debug!(plugin = %id, ?status, "licence status");
                }
                *self
                    .inner
                    .licences
                    .statuses
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = Arc::new(statuses.into_iter().collect());
            }
            // The last statuses stay: a database hiccup must not stop
            // licensed plugins.
            Err(error) => tracing::error!(%error, "cannot read the licences"),
        }
    }

    /// Keeps the statuses current while the server runs: recomputed every
    /// minute, and within seconds of a licence being added or removed (by
    /// any process on this data directory) or a new user being active.
    pub fn follow_licences(&self) -> Option<std::thread::JoinHandle<()>> {
        let Some(Mode::Enforced(licences)) = self.inner.licences.mode.get() else {
            return None;
        };
        let (state, licences) = (self.clone(), licences.clone());
        Some(std::thread::spawn(move || {
            let mut seen = licences.fingerprint().ok();
            let mut computed = Instant::now();
            loop {
                std::thread::sleep(LOOK_EVERY);
                let now = licences.fingerprint().ok();
                if now != seen || computed.elapsed() >= RECOMPUTE_EVERY {
                    state.refresh_licences();
                    (seen, computed) = (now, Instant::now());
                }
            }
        }))
    }

    /// The status of a loaded plugin, from the cache; a premium plugin not
    /// seen before (just installed) is looked up now.
    pub fn licence_status(&self, manifest: &Manifest) -> LicenceStatus {
        if manifest.tier == Tier::Open {
            return LicenceStatus::NotRequired;
        }
        let licences = match self.inner.licences.mode.get() {
            None => return LicenceStatus::Missing,
            Some(Mode::Waived) => return LicenceStatus::NotRequired,
            Some(Mode::Enforced(licences)) => licences,
        };
        let gate = &self.inner.licences;
        let id = manifest.id.as_str();
        let cached = gate
            .statuses
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        if let Some(status) = cached {
            return status;
        }
        // A few milliseconds of SQLite, once per newly installed plugin.
        match licences.status(id, manifest.tier, SystemTime::now()) {
            Ok(status) => {
                let mut statuses = gate.statuses.write().unwrap_or_else(|p| p.into_inner());
                let mut next = HashMap::clone(&statuses);
                next.insert(id.to_owned(), status.clone());
                *statuses = Arc::new(next);
                status
            }
            Err(error) => {
                tracing::error!(plugin = %id, %error, "cannot read the licences");
                LicenceStatus::Missing
            }
        }
    }

    /// Notes that `user` is using the portal today, for seat counting:
    /// written once per user per day, off the request's thread.
    pub fn note_activity(&self, user: &Identity) {
        let Some(Mode::Enforced(licences)) = self.inner.licences.mode.get() else {
            return;
        };
        let today = Day::of(SystemTime::now());
        {
            let mut recorded = self
                .inner
                .licences
                .recorded
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if recorded.get(&user.entity_ref) == Some(&today) {
                return;
            }
            recorded.insert(user.entity_ref.clone(), today);
        }
        let (licences, user_ref) = (licences.clone(), user.entity_ref.clone());
        let record = move || {
            if let Err(error) = licences.record_activity(&user_ref, SystemTime::now()) {
                tracing::error!(%error, user = %user_ref, "cannot record activity for seat counting");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(record)),
            Err(_) => record(),
        }
    }
}
