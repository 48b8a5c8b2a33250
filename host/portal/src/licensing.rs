//! Premium licences in the portal: who uses the portal, noted by a layer
//! over every route for the seats licences count. Which plugins may run,
//! and the statuses, are the plugin host's (`greenroom_lifecycle`); the
//! card and the banner are drawn by the page shell and views.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

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

#[cfg(test)]
mod tests {
    use crate::tests::{get, portal_with};
    use greenroom_artifacts as artifacts;
    use greenroom_licensing::{Day, LicenceStatus, LicenceTerms, Licences, issue_licence};
    use greenroom_marketplace::{SecretKey, TrustedPublishers};
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
