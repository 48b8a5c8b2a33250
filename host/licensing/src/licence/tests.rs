use super::*;
use greenroom_marketplace::Installed;
use std::time::Duration;

/// Noon UTC on `day`: the injected clock.
fn at(day: &str) -> SystemTime {
    Day::parse(day).expect("a test date").start() + Duration::from_secs(12 * 3600)
}

fn day(text: &str) -> Day {
    Day::parse(text).expect("a test date")
}

fn terms(plugins: &[&str], seats: u32, expires: &str) -> LicenceTerms {
    LicenceTerms {
        licensee: "Acme Corp".into(),
        publisher: "acme".into(),
        plugins: plugins.iter().map(|p| (*p).to_owned()).collect(),
        seats,
        issued: day("2026-01-01"),
        expires: day(expires),
    }
}

fn trusting(key: &SecretKey) -> TrustedPublishers {
    let mut trusted = TrustedPublishers::default();
    trusted.trust("acme", key.public());
    trusted
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Database,
    key: SecretKey,
    licences: Licences,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
    let key = SecretKey::generate();
    let licences = Licences::new(db.clone(), trusting(&key));
    Fixture {
        _dir: dir,
        db,
        key,
        licences,
    }
}

impl Fixture {
    fn add(&self, plugins: &[&str], seats: u32, expires: &str) -> AddedLicence {
        let licence = issue_licence(terms(plugins, seats, expires), &self.key).expect("issues");
        self.licences
            .add(
                &licence.to_text(),
                "test.licence",
                "operator:test",
                at("2026-01-02"),
            )
            .expect("adds")
    }

    fn status(&self, when: &str) -> LicenceStatus {
        self.licences
            .status("soundcheck", Tier::Premium, at(when))
            .expect("status")
    }

    fn active(&self, users: usize, when: &str) {
        for n in 0..users {
            self.licences
                .record_activity(&format!("user:default/dev-{n}"), at(when))
                .expect("records");
        }
    }
}

// ===== the file =====

#[test]
fn an_issued_licence_reads_back_and_verifies() {
    let key = SecretKey::generate();
    let licence =
        issue_licence(terms(&["soundcheck", "insights"], 25, "2027-01-01"), &key).unwrap();
    let text = licence.to_text();
    assert!(text.contains("expires = 2027-01-01\n"), "{text}");
    assert!(
        text.contains("plugins = [\"insights\", \"soundcheck\"]"),
        "{text}"
    );
    let read = Licence::parse(&text, "acme.licence").unwrap();
    assert_eq!(read, licence);
    read.verify(&trusting(&key)).expect("verifies");
    assert_eq!(read.id().len(), 16);
}

#[test]
fn dates_may_also_be_written_as_strings() {
    let key = SecretKey::generate();
    let text = issue_licence(terms(&["soundcheck"], 1, "2027-01-01"), &key)
        .unwrap()
        .to_text()
        .replace("expires = 2027-01-01", "expires = \"2027-01-01\"");
    let licence = Licence::parse(&text, "l").unwrap();
    licence.verify(&trusting(&key)).expect("the same terms");
}

#[test]
fn an_edited_licence_is_refused_as_a_bad_signature() {
    let key = SecretKey::generate();
    let text = issue_licence(terms(&["soundcheck"], 5, "2027-01-01"), &key)
        .unwrap()
        .to_text()
        .replace("seats = 5", "seats = 500");
    let error = Licence::parse(&text, "l")
        .unwrap()
        .verify(&trusting(&key))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the licence's signature is not valid for publisher `acme`'s key: the file was changed after it was signed, or signed with another key"
    );
}

#[test]
fn a_licence_from_an_untrusted_publisher_is_refused() {
    let licence = issue_licence(
        terms(&["soundcheck"], 5, "2027-01-01"),
        &SecretKey::generate(),
    )
    .unwrap();
    let error = licence.verify(&TrustedPublishers::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the licence is signed by `acme`, whom this host does not trust"),
        "{error}"
    );
    let impostor = licence
        .verify(&trusting(&SecretKey::generate()))
        .unwrap_err();
    assert!(
        matches!(impostor, LicenceError::BadSignature { .. }),
        "{impostor}"
    );
}

#[test]
fn a_malformed_licence_names_the_file_and_the_field() {
    let key = SecretKey::generate();
    let good = issue_licence(terms(&["soundcheck"], 5, "2027-01-01"), &key)
        .unwrap()
        .to_text();
    let cases = [
        (
            good.replace("seats = 5", "seets = 5"),
            "unknown field `seets`",
        ),
        (
            good.replace("seats = 5", "seats = 0"),
            "seats: a licence has at least one seat",
        ),
        (good.replace("seats = 5", "seats = -1"), "seats"),
        (
            good.replace("expires = 2027-01-01", "expires = 2027-13-01"),
            "expires",
        ),
        (
            good.replace("expires = 2027-01-01", "expires = \"next year\""),
            "expires: `next year` is not a date; write it as YYYY-MM-DD",
        ),
        (
            good.replace("expires = 2027-01-01", "expires = 2027-01-01T10:00:00"),
            "expires: `2027-01-01T10:00:00` is not a date",
        ),
        (
            good.replace("expires = 2027-01-01", "expires = 2025-01-01"),
            "expires: 2025-01-01 is not after the issue date 2026-01-01",
        ),
        (
            good.replace("\"soundcheck\"", "\"Sound Check\""),
            "plugins: `Sound Check` is not a valid plugin id",
        ),
        (
            good.replace("plugins = [\"soundcheck\"]", "plugins = []"),
            "plugins: a licence covers at least one plugin",
        ),
        (
            good.replace("\"Acme Corp\"", "\"Acme\\nseats=9\""),
            "licensee: must be a non-empty name on one line",
        ),
        (
            good.replace("signature", "# signature"),
            "missing field `signature`",
        ),
    ];
    for (text, expected) in cases {
        let error = Licence::parse(&text, "acme.licence").unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("acme.licence: ") && message.contains(expected),
            "expected `{expected}` in: {message}"
        );
    }
}

#[test]
fn the_statement_does_not_depend_on_the_order_of_plugins() {
    let key = SecretKey::generate();
    let one = issue_licence(terms(&["b", "a", "a"], 1, "2027-01-01"), &key).unwrap();
    let two = issue_licence(terms(&["a", "b"], 1, "2027-01-01"), &key).unwrap();
    assert_eq!(one.statement(), two.statement());
    assert_eq!(one.id(), two.id());
}

// ===== statuses, with an injected clock =====

#[test]
fn an_open_plugin_needs_no_licence_and_a_premium_one_without_is_missing() {
    let f = fixture();
    assert_eq!(
        f.licences
            .status("hello", Tier::Open, at("2026-03-01"))
            .unwrap(),
        LicenceStatus::NotRequired
    );
    assert_eq!(f.status("2026-03-01"), LicenceStatus::Missing);
    let (title, message) = LicenceStatus::Missing.refusal().unwrap();
    assert_eq!(title, "No licence");
    assert!(message.contains("no data was lost"), "{message}");
}

#[test]
fn a_licence_is_valid_until_the_day_before_it_expires_then_expired() {
    let f = fixture();
    let added = f.add(&["soundcheck"], 10, "2026-10-01");
    f.active(3, "2026-09-30");
    assert_eq!(
        f.status("2026-09-30"),
        LicenceStatus::Valid {
            licence: added.id.clone(),
            licensee: "Acme Corp".into(),
            seats: 10,
            active: 3,
            expires: day("2026-10-01"),
        }
    );
    assert!(f.status("2026-09-30").runs());
    let expired = f.status("2026-10-01");
    assert_eq!(
        expired,
        LicenceStatus::Expired {
            licence: added.id,
            licensee: "Acme Corp".into(),
            on: day("2026-10-01"),
        }
    );
    assert!(!expired.runs());
    assert_eq!(
        expired.refusal().unwrap().1,
        "Licence expired on 2026-10-01 — ask your Greenroom admin to renew; no data was lost"
    );
}

#[test]
fn a_licence_warns_in_its_last_fourteen_days() {
    let f = fixture();
    f.add(&["soundcheck"], 10, "2026-10-01");
    assert_eq!(
        f.status("2026-09-16")
            .warning("soundcheck", day("2026-09-16")),
        None
    );
    let warning = f
        .status("2026-09-17")
        .warning("soundcheck", day("2026-09-17"))
        .expect("a warning 14 days before");
    assert_eq!(
        warning,
        "soundcheck: its licence expires on 2026-10-01 (in 14 days); renew it before then"
    );
}

#[test]
fn seats_count_distinct_users_active_in_the_last_thirty_days() {
    let f = fixture();
    f.active(2, "2026-03-01");
    f.active(2, "2026-03-05"); // the same two people again
    f.licences
        .record_activity("user:default/someone", at("2026-03-30"))
        .unwrap();
    assert_eq!(f.licences.active_users(at("2026-03-30")).unwrap(), 3);
    // 2026-03-01 is 30 days before 2026-03-31: no longer counted, but
    // 2026-03-05 still is.
    assert_eq!(f.licences.active_users(at("2026-03-31")).unwrap(), 3);
    assert_eq!(f.licences.active_users(at("2026-04-03")).unwrap(), 3);
    assert_eq!(f.licences.active_users(at("2026-04-04")).unwrap(), 1);
}

#[test]
fn over_its_seats_a_plugin_runs_for_a_grace_period_then_stops() {
    let f = fixture();
    let added = f.add(&["soundcheck"], 2, "2027-01-01");
    f.active(3, "2026-03-01");
    let over = f.status("2026-03-01");
    assert_eq!(
        over,
        LicenceStatus::OverSeats {
            licence: added.id.clone(),
            licensee: "Acme Corp".into(),
            seats: 2,
            active: 3,
            expires: day("2027-01-01"),
            grace_until: day("2026-03-31"),
        }
    );
    assert!(over.runs(), "it still runs");
    let warning = over.warning("soundcheck", day("2026-03-01")).unwrap();
    assert!(
        warning
            .contains("3 people used the portal in the last 30 days but its licence has 2 seats")
            && warning.contains("before 2026-03-31"),
        "{warning}"
    );
    // The grace period counts from the first day the overrun was seen.
    f.active(3, "2026-03-20");
    assert!(matches!(
        f.status("2026-03-20"),
        LicenceStatus::OverSeats { grace_until, .. } if grace_until == day("2026-03-31")
    ));
    f.active(3, "2026-03-31");
    let ended = f.status("2026-03-31");
    assert_eq!(
        ended,
        LicenceStatus::GraceEnded {
            licence: added.id,
            licensee: "Acme Corp".into(),
            seats: 2,
            active: 3,
            expires: day("2027-01-01"),
            grace_ended: day("2026-03-31"),
        }
    );
    assert!(!ended.runs());
    assert!(
        ended
            .refusal()
            .unwrap()
            .1
            .contains("the grace period ended on 2026-03-31"),
        "{ended:?}"
    );
}

#[test]
fn back_within_its_seats_the_grace_period_is_forgotten() {
    let f = fixture();
    f.add(&["soundcheck"], 2, "2027-01-01");
    f.active(3, "2026-03-01");
    assert!(matches!(
        f.status("2026-03-01"),
        LicenceStatus::OverSeats { .. }
    ));
    // A month later only two people are active: within the seats again.
    f.active(2, "2026-04-15");
    assert!(matches!(
        f.status("2026-04-15"),
        LicenceStatus::Valid { active: 2, .. }
    ));
    // A new overrun starts a new grace period.
    f.active(3, "2026-05-01");
    assert!(matches!(
        f.status("2026-05-01"),
        LicenceStatus::OverSeats { grace_until, .. } if grace_until == day("2026-05-31")
    ));
}

#[test]
fn the_grace_period_is_configurable() {
    let f = fixture();
    f.add(&["soundcheck"], 1, "2027-01-01");
    let licences = f.licences.clone().with_grace_days(7);
    f.active(2, "2026-03-01");
    let status = |when| {
        licences
            .status("soundcheck", Tier::Premium, at(when))
            .unwrap()
    };
    assert!(matches!(
        status("2026-03-01"),
        LicenceStatus::OverSeats { grace_until, .. } if grace_until == day("2026-03-08")
    ));
    f.active(2, "2026-03-08");
    assert!(matches!(
        status("2026-03-08"),
        LicenceStatus::GraceEnded { .. }
    ));
    let strict = f.licences.clone().with_grace_days(0);
    f.add(&["other"], 1, "2027-01-01");
    assert!(matches!(
        strict
            .status("other", Tier::Premium, at("2026-03-08"))
            .unwrap(),
        LicenceStatus::GraceEnded { .. }
    ));
}

#[test]
fn an_expired_licence_is_expired_even_over_its_seats() {
    let f = fixture();
    f.add(&["soundcheck"], 1, "2026-10-01");
    f.active(5, "2026-10-02");
    assert!(matches!(
        f.status("2026-10-02"),
        LicenceStatus::Expired { .. }
    ));
}

#[test]
fn renewing_replaces_the_older_licence_and_the_plugin_runs_again() {
    let f = fixture();
    let old = f.add(&["soundcheck"], 10, "2026-10-01");
    assert!(matches!(
        f.status("2026-11-01"),
        LicenceStatus::Expired { .. }
    ));
    let new = f.add(&["soundcheck"], 10, "2027-10-01");
    assert_eq!(new.replaced, [old.id]);
    assert!(matches!(
        f.status("2026-11-01"),
        LicenceStatus::Valid { .. }
    ));
    assert_eq!(f.licences.list(at("2026-11-01")).unwrap().len(), 1);
    // An older licence added afterwards replaces nothing, and the newer
    // one still decides.
    let older = f.add(&["soundcheck"], 10, "2026-06-01");
    assert!(older.replaced.is_empty());
    assert!(matches!(
        f.status("2026-11-01"),
        LicenceStatus::Valid { expires, .. } if expires == day("2027-10-01")
    ));
    // Adding the newer one again keeps it (one row per licence) and
    // replaces the older one.
    let again = f.add(&["soundcheck"], 10, "2027-10-01");
    assert_eq!(again.replaced, [older.id]);
    assert_eq!(f.licences.list(at("2026-11-01")).unwrap().len(), 1);
}

#[test]
fn of_several_licences_the_one_that_runs_decides() {
    let f = fixture();
    f.add(&["soundcheck", "insights"], 1, "2027-01-01");
    f.add(&["soundcheck"], 50, "2026-12-01");
    f.active(3, "2026-03-01");
    assert!(matches!(
        f.status("2026-03-01"),
        LicenceStatus::Valid { seats: 50, .. }
    ));
    assert!(matches!(
        f.licences
            .status("insights", Tier::Premium, at("2026-03-01"))
            .unwrap(),
        LicenceStatus::OverSeats { seats: 1, .. }
    ));
    let all = f
        .licences
        .statuses(
            &[("soundcheck", Tier::Premium), ("hello", Tier::Open)],
            at("2026-03-01"),
        )
        .unwrap();
    assert_eq!(all[1], ("hello".to_owned(), LicenceStatus::NotRequired));
}

#[test]
fn add_refuses_bad_signatures_untrusted_publishers_and_other_publishers_plugins() {
    let f = fixture();
    let text = issue_licence(terms(&["soundcheck"], 5, "2027-01-01"), &f.key)
        .unwrap()
        .to_text();
    let tampered = text.replace("seats = 5", "seats = 50");
    let error = f
        .licences
        .add(&tampered, "t.licence", "operator:test", at("2026-03-01"))
        .unwrap_err();
    assert!(
        matches!(error, LicenceError::BadSignature { .. }),
        "{error}"
    );
    let stranger = issue_licence(
        LicenceTerms {
            publisher: "stranger".into(),
            ..terms(&["soundcheck"], 5, "2027-01-01")
        },
        &f.key,
    )
    .unwrap();
    let error = f
        .licences
        .add(
            &stranger.to_text(),
            "s.licence",
            "operator:test",
            at("2026-03-01"),
        )
        .unwrap_err();
    assert!(
        matches!(error, LicenceError::UntrustedPublisher { .. }),
        "{error}"
    );

    InstalledPlugins::new(f.db.clone())
        .record(&Installed {
            id: "soundcheck".into(),
            version: "1.0.0".into(),
            publisher: "spotify".into(),
            index_source: "index.toml".into(),
            sha256: "ab".into(),
            artifact: "soundcheck.wasm".into(),
            grants: vec![],
            enabled: true,
        })
        .unwrap();
    let error = f
        .licences
        .add(&text, "a.licence", "operator:test", at("2026-03-01"))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the licence is from `acme`, but plugin `soundcheck` installed here is published by `spotify`; only a plugin's publisher can license it"
    );
    assert!(f.licences.list(at("2026-03-01")).unwrap().is_empty());

    let audit = AuditLog::new(f.db.clone()).recent(None, 10).unwrap();
    assert_eq!(audit.len(), 3, "every refusal is audited");
    assert!(
        audit
            .iter()
            .all(|e| e.action == "licence.add" && e.decision == Decision::Deny)
    );
}

#[test]
fn a_licence_from_another_publisher_than_the_installed_plugins_does_not_count() {
    let f = fixture();
    f.add(&["soundcheck"], 5, "2027-01-01");
    InstalledPlugins::new(f.db.clone())
        .record(&Installed {
            id: "soundcheck".into(),
            version: "1.0.0".into(),
            publisher: "spotify".into(),
            index_source: "index.toml".into(),
            sha256: "ab".into(),
            artifact: "soundcheck.wasm".into(),
            grants: vec![],
            enabled: true,
        })
        .unwrap();
    let status = f.status("2026-03-01");
    assert!(
        matches!(&status, LicenceStatus::Invalid { reason, .. } if reason.contains("published by `spotify`")),
        "{status:?}"
    );
    assert!(!status.runs());
}

#[test]
fn a_stored_licence_whose_publisher_is_no_longer_trusted_is_invalid() {
    let f = fixture();
    f.add(&["soundcheck"], 5, "2027-01-01");
    let distrusting = Licences::new(f.db.clone(), TrustedPublishers::default());
    let status = distrusting
        .status("soundcheck", Tier::Premium, at("2026-03-01"))
        .unwrap();
    assert!(
        matches!(&status, LicenceStatus::Invalid { reason, .. } if reason.contains("does not trust")),
        "{status:?}"
    );
}

#[test]
fn a_row_edited_in_the_database_is_invalid() {
    let f = fixture();
    let added = f.add(&["soundcheck"], 5, "2027-01-01");
    f.db.connection()
        .unwrap()
        .execute(
            "UPDATE licences SET text = replace(text, 'seats = 5', 'seats = 500')",
            [],
        )
        .unwrap();
    assert!(matches!(
        f.status("2026-03-01"),
        LicenceStatus::Invalid { licence, .. } if licence == added.id
    ));
}

#[test]
fn removing_a_licence_stops_the_plugin_and_is_audited() {
    let f = fixture();
    let added = f.add(&["soundcheck"], 5, "2027-01-01");
    let before = f.licences.fingerprint().unwrap();
    let removed = f.licences.remove(&added.id, "operator:test").unwrap();
    assert_eq!(removed.seats, 5);
    assert_ne!(f.licences.fingerprint().unwrap(), before);
    assert_eq!(f.status("2026-03-01"), LicenceStatus::Missing);
    assert!(matches!(
        f.licences.remove(&added.id, "operator:test"),
        Err(LicenceError::NotFound(_))
    ));
    let actions: Vec<String> = AuditLog::new(f.db.clone())
        .recent(None, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["licence.remove", "licence.add"]);
}

#[test]
fn statuses_serialise_for_the_api() {
    let status = LicenceStatus::OverSeats {
        licence: "ab".into(),
        licensee: "Acme".into(),
        seats: 2,
        active: 3,
        expires: day("2027-01-01"),
        grace_until: day("2026-03-31"),
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        serde_json::json!({
            "status": "over-seats", "licence": "ab", "licensee": "Acme", "seats": 2,
            "active": 3, "expires": "2027-01-01", "graceUntil": "2026-03-31",
        })
    );
}

#[test]
fn days_are_utc_calendar_days() {
    let d = day("2026-02-28");
    assert_eq!(d.plus_days(1).to_string(), "2026-03-01");
    assert_eq!(d.days_until(day("2026-03-30")), 30);
    assert_eq!(Day::of(d.start()), d);
    assert_eq!(
        Day::of(d.start() - Duration::from_secs(1)),
        day("2026-02-27")
    );
    assert_eq!(Day::of(SystemTime::UNIX_EPOCH).to_string(), "1970-01-01");
}
