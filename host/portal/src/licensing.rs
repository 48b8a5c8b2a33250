//! Premium licences in the portal: which plugins may be called, the card
//! drawn instead of an unlicensed plugin, the seats people use, and the
//! banner that warns before a licence stops a plugin.
//!
//! A premium plugin without a licence that runs ([`LicenceStatus::runs`])
//! is never called: its slots show a card saying why, its API answers
//! `402`, its actions are refused and its scheduled tasks are skipped
//! ([`AppState::licensed`]). Its stored data is left as it is, so renewing
//! finds everything again.
//!
//! Statuses are computed from the data directory's database and cached
//! here; [`AppState::follow_licences`] recomputes them every minute (so
//! expiry happens at midnight UTC give or take a minute) and within
//! seconds of a licence being added or removed, by this server or by
//! `greenroom licence add` on the same data directory.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use greenroom_access::Identity;
use greenroom_contract::{Manifest, Tier};
use greenroom_licensing::{Day, LicenceStatus, Licences};
use maud::{Markup, html};
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

impl AppState {
    /// Checks premium plugins' licences against `licences` from now on, and
    /// records users' activity in it for seat counting. Call it once,
    /// before serving. Until it is called, no premium plugin runs.
    pub fn set_licences(&self, licences: Licences) {
        if self
            .licence_gate()
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
        let _ = self.licence_gate().mode.set(Mode::Waived);
    }

    /// The licences, when they are checked: for the admin page to add,
    /// list and remove them (call [`AppState::refresh_licences`] after a
    /// change).
    pub fn licences(&self) -> Option<&Licences> {
        match self.licence_gate().mode.get() {
            Some(Mode::Enforced(licences)) => Some(licences),
            _ => None,
        }
    }

    /// Whether the host may call the loaded plugin with this id now (the
    /// scheduler asks before each task run). False for a plugin not loaded.
    pub fn licensed(&self, plugin_id: &str) -> bool {
        self.plugin(plugin_id)
            .is_some_and(|plugin| self.licence_status(plugin.manifest()).runs())
    }

    /// The licence status of every loaded premium plugin, in load order:
    /// for the admin page.
    pub fn licence_statuses(&self) -> Vec<(String, LicenceStatus)> {
        self.plugins()
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
        let Some(Mode::Enforced(licences)) = self.licence_gate().mode.get() else {
            return;
        };
        let plugins = self.plugins();
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
                    .licence_gate()
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
        let Some(Mode::Enforced(licences)) = self.licence_gate().mode.get() else {
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
    pub(crate) fn licence_status(&self, manifest: &Manifest) -> LicenceStatus {
        if manifest.tier == Tier::Open {
            return LicenceStatus::NotRequired;
        }
        let licences = match self.licence_gate().mode.get() {
            None => return LicenceStatus::Missing,
            Some(Mode::Waived) => return LicenceStatus::NotRequired,
            Some(Mode::Enforced(licences)) => licences,
        };
        let gate = self.licence_gate();
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

    /// Why the host will not call this plugin, if it will not: a short
    /// title and a sentence for the people using the portal.
    pub(crate) fn licence_refusal(&self, manifest: &Manifest) -> Option<(&'static str, String)> {
        self.licence_status(manifest).refusal()
    }

    /// Notes that `user` is using the portal today, for seat counting:
    /// written once per user per day, off the request's thread.
    pub(crate) fn note_activity(&self, user: &Identity) {
        let Some(Mode::Enforced(licences)) = self.licence_gate().mode.get() else {
            return;
        };
        let today = Day::of(SystemTime::now());
        {
            let mut recorded = self
                .licence_gate()
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

/// The card an unlicensed plugin's slot shows instead of its view.
pub(crate) fn licence_card(title: &str, message: &str) -> Markup {
    html! {
        div.licence-state role="status" {
            p.licence-title { (title) }
            p.licence-detail { (message) }
        }
    }
}

tokio::task_local! {
    /// The licence warnings of the request being answered, for the page
    /// shell (see [`warn_about_licences`]).
    static LICENCE_WARNINGS: Arc<[String]>;
}

/// A layer over the pages: makes the current licence warnings available to
/// the page shell, which shows them in a banner on every page — to admins
/// only: they are the ones who can act on them. A layer
/// rather than a field of every page's shell, as the security headers are:
/// every page shows it, and no handler has to remember to.
pub(crate) async fn warn_about_licences(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let admin = crate::identity::resolve(request.extensions())
        .is_some_and(|u| crate::admin::is_admin(&state, &u));
    let warnings: Arc<[String]> = if admin {
        state.licence_warnings().into()
    } else {
        Arc::new([])
    };
    LICENCE_WARNINGS.scope(warnings, next.run(request)).await
}

/// The warnings [`warn_about_licences`] set for this request (none outside
/// a page request).
pub(crate) fn current_warnings() -> Arc<[String]> {
    LICENCE_WARNINGS
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new([]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{get, portal_with};
    use greenroom_artifacts as artifacts;
    use greenroom_licensing::{LicenceTerms, issue_licence};
    use greenroom_marketplace::{SecretKey, TrustedPublishers};
    use greenroom_store::Database;

    /// A licence book in its own database, trusting `acme`, holding a
    /// licence for the premium test plugin with `seats` seats and `users`
    /// people active today.
    fn book(dir: &tempfile::TempDir, seats: u32, users: usize) -> Licences {
        let db = Database::open(&dir.path().join("licences.db")).expect("opens");
        let key = SecretKey::generate();
        let mut trusted = TrustedPublishers::default();
        trusted.trust("acme", key.public());
        let licences = Licences::new(db, trusted);
        let today = Day::of(SystemTime::now());
        let licence = issue_licence(
            LicenceTerms {
                licensee: "Acme Corp".into(),
                publisher: "acme".into(),
                plugins: vec!["test-premium".into()],
                seats,
                issued: today,
                expires: today.plus_days(365),
            },
            &key,
        )
        .expect("issues");
        licences
            .add(&licence.to_text(), "l", "operator:test", SystemTime::now())
            .expect("adds");
        for n in 0..users {
            licences
                .record_activity(&format!("user:default/dev-{n}"), SystemTime::now())
                .expect("records");
        }
        licences
    }

    #[tokio::test]
    async fn without_a_licence_book_a_premium_plugin_is_never_called() {
        let portal = portal_with(true, &[artifacts::PREMIUM_COMPONENT]);
        let home = get(&portal, "/").await;
        assert!(home.body.contains("No licence"), "{}", home.body);
        assert!(!home.body.contains("premium notes"));
        assert!(
            home.body.contains("Hello, Guest!"),
            "open plugins still run"
        );
        let api = get(&portal, "/api/plugins/test-premium/notes").await;
        assert_eq!(api.status.as_u16(), 402, "{}", api.body);
        assert!(!portal.state.licensed("test-premium"));
        assert!(portal.state.licensed("hello"));
        assert!(!portal.state.licensed("not-loaded"));
    }

    #[tokio::test]
    async fn waived_licences_let_an_author_run_their_premium_plugin() {
        let portal = portal_with(true, &[artifacts::PREMIUM_COMPONENT]);
        portal.state.waive_licences();
        let home = get(&portal, "/").await;
        assert!(home.body.contains("premium notes: 0"), "{}", home.body);
        assert!(portal.state.licensed("test-premium"));
    }

    #[tokio::test]
    async fn a_licence_lets_it_run_and_an_overrun_of_its_seats_is_shown_on_every_page() {
        let dir = tempfile::tempdir().expect("temp dir");
        let portal = portal_with(true, &[artifacts::PREMIUM_COMPONENT]);
        portal.state.set_licences(book(&dir, 2, 2));
        let home = get(&portal, "/").await;
        assert!(home.body.contains("premium notes: 0"), "{}", home.body);
        assert!(!home.body.contains("banner-licence"));
        assert!(portal.state.licensed("test-premium"));

        // The guest's requests were recorded too: three people, two seats.
        let licences = portal.state.licences().expect("checked").clone();
        let started = Instant::now();
        while licences.active_users(SystemTime::now()).expect("counts") < 3 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the guest was not recorded"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        portal.state.refresh_licences();
        let statuses = portal.state.licence_statuses();
        assert!(
            matches!(&statuses[..], [(id, LicenceStatus::OverSeats { active: 3, seats: 2, .. })] if id == "test-premium"),
            "{statuses:?}"
        );
        for page in ["/", "/plugins", "/plugins/test-premium"] {
            let reply = get(&portal, page).await;
            assert!(
                reply.body.contains("banner-licence")
                    && reply.body.contains("but its licence has 2 seats"),
                "{page}: {}",
                reply.body
            );
        }
        assert!(
            get(&portal, "/").await.body.contains("premium notes: 0"),
            "it still runs"
        );
    }
}
