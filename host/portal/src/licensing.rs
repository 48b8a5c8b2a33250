//! Premium licences in the portal: the card drawn instead of an
//! unlicensed plugin, and the banner that warns admins before a licence
//! stops a plugin. Which plugins may run, and seat counting, are the
//! plugin host's (`greenroom_lifecycle`).

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use maud::{Markup, html};
use std::sync::Arc;

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
        state.plugins().licence_warnings().into()
    } else {
        Arc::new([])
    };
    LICENCE_WARNINGS.scope(warnings, next.run(request)).await
}

/// A layer over every route, inside the one that resolves who is acting:
/// a signed-in person (or the guest) is noted as using the portal today,
/// which is what premium licences' seats count.
pub(crate) async fn count_seats(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(user) = crate::identity::resolve(request.extensions()) {
        state.plugins().note_activity(&user);
    }
    next.run(request).await
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
    use crate::tests::{get, portal_with};
    use greenroom_artifacts as artifacts;
    use greenroom_marketplace::{Day, LicenceStatus, Licences};
    use greenroom_marketplace::{LicenceTerms, SecretKey, TrustedPublishers, issue_licence};
    use greenroom_store::Database;
    use std::time::{Duration, Instant, SystemTime};

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
        assert!(!portal.state.plugins().licensed("test-premium"));
        assert!(portal.state.plugins().licensed("hello"));
        assert!(!portal.state.plugins().licensed("not-loaded"));
    }

    #[tokio::test]
    async fn waived_licences_let_an_author_run_their_premium_plugin() {
        let portal = portal_with(true, &[artifacts::PREMIUM_COMPONENT]);
        portal.state.plugins().waive_licences();
        let home = get(&portal, "/").await;
        assert!(home.body.contains("premium notes: 0"), "{}", home.body);
        assert!(portal.state.plugins().licensed("test-premium"));
    }

    #[tokio::test]
    async fn a_licence_lets_it_run_and_an_overrun_of_its_seats_is_shown_on_every_page() {
        let dir = tempfile::tempdir().expect("temp dir");
        let portal = portal_with(true, &[artifacts::PREMIUM_COMPONENT]);
        portal.state.plugins().set_licences(book(&dir, 2, 2));
        let home = get(&portal, "/").await;
        assert!(home.body.contains("premium notes: 0"), "{}", home.body);
        assert!(!home.body.contains("banner-licence"));
        assert!(portal.state.plugins().licensed("test-premium"));

        // The guest's requests were recorded too: three people, two seats.
        let licences = portal.state.plugins().licences().expect("checked").clone();
        let started = Instant::now();
        while licences.active_users(SystemTime::now()).expect("counts") < 3 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the guest was not recorded"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        portal.state.plugins().refresh_licences();
        let statuses = portal.state.plugins().licence_statuses();
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
