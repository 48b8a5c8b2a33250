//! Premium licences: a premium plugin runs only with a licence signed by
//! its publisher; without one, or once it expired or its grace period
//! ended, the portal shows why instead of calling it, and nothing it stored
//! is lost.

use crate::support::{DEMO_KEY, Server, binary, write_config};
use greenroom_artifacts as artifacts;
use greenroom_licensing::{Day, Licences};
use greenroom_marketplace::{DEMO_PUBLISHER, DEMO_PUBLISHER_KEY, TrustedPublishers};
use greenroom_store::Database;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// A data directory whose config trusts the demo publisher, lets the guest
/// in and loads the premium test plugin, granted its storage.
struct Portal {
    data_dir: tempfile::TempDir,
    config: PathBuf,
}

fn portal(extra_config: &str) -> Portal {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        data_dir.path(),
        &format!(
            "[auth]\nguest = true\n\n[marketplace]\n{extra_config}\n\n\
             [[marketplace.trusted-publishers]]\nname = \"{DEMO_PUBLISHER}\"\nkey = \"{DEMO_PUBLISHER_KEY}\"\n\n\
             [[plugins]]\npath = {:?}\ngrant = [\"all\"]\n",
            artifacts::PREMIUM_COMPONENT
        ),
    );
    Portal { data_dir, config }
}

impl Portal {
    fn data(&self) -> &str {
        self.data_dir.path().to_str().expect("utf-8 path")
    }

    /// `greenroom licence <args> --config … --data-dir …`.
    fn license(&self, args: &[&str]) -> Output {
        let config = self.config.to_str().expect("utf-8 path");
        greenroom(
            &[
                &["licence"],
                args,
                &["--config", config, "--data-dir", self.data()],
            ]
            .concat(),
        )
    }

    /// Adds a licence file; panics with the output if refused.
    fn add(&self, file: &Path) -> String {
        let added = self.license(&["add", file.to_str().expect("utf-8 path")]);
        let stdout = String::from_utf8_lossy(&added.stdout).into_owned();
        assert!(
            added.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&added.stderr)
        );
        stdout
    }

    fn serve(self) -> Server {
        let config = self.config.to_str().expect("utf-8 path").to_owned();
        Server::start_in(self.data_dir, &["--config", &config])
    }
}

/// `greenroom licence <args>` on a running server's data directory (its
/// config is in it); panics with the output if it fails, else its stdout.
fn license_on(server: &Server, args: &[&str]) -> String {
    let data = server.data_dir.path();
    let config = data.join("greenroom.toml");
    let output = greenroom(
        &[
            &["licence"],
            args,
            &[
                "--config",
                config.to_str().expect("utf-8 path"),
                "--data-dir",
                data.to_str().expect("utf-8 path"),
            ],
        ]
        .concat(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "license {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn greenroom(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn today() -> Day {
    Day::of(SystemTime::now())
}

/// Issues a licence for the premium test plugin with `key` as `publisher`,
/// into `dir/name`.
fn issue_with(
    dir: &Path,
    name: &str,
    key: &str,
    publisher: &str,
    seats: u32,
    issued: Day,
    expires: Day,
) -> PathBuf {
    let out = dir.join(name);
    let issued = greenroom(&[
        "license",
        "issue",
        "--key",
        key,
        "--publisher",
        publisher,
        "--licensee",
        "Acme Corp",
        "--plugin",
        "test-premium",
        "--seats",
        &seats.to_string(),
        "--issued",
        &issued.to_string(),
        "--expires",
        &expires.to_string(),
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    out
}

/// A licence from the demo publisher, `seats` seats, expiring `expires`.
fn issue(dir: &Path, name: &str, seats: u32, expires: Day) -> PathBuf {
    let issued = expires.plus_days(-365).min(today());
    issue_with(dir, name, DEMO_KEY, DEMO_PUBLISHER, seats, issued, expires)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

/// `POST /api/plugins/test-premium/notes`: the plugin adds a note.
fn post_note(server: &Server) -> (u16, serde_json::Value) {
    let response = client()
        .post(format!("{}/api/plugins/test-premium/notes", server.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .expect("posts");
    let status = response.status().as_u16();
    let body = response.text().expect("a body");
    (status, serde_json::from_str(&body).expect("a JSON body"))
}

fn notes_api(server: &Server) -> (u16, serde_json::Value) {
    let reply = server.get("/api/plugins/test-premium/notes");
    let json = serde_json::from_str(&reply.body).expect("a JSON body");
    (reply.status, json)
}

fn premium_licence(server: &Server) -> serde_json::Value {
    let plugins: serde_json::Value =
        serde_json::from_str(&server.get("/api/plugins").body).expect("JSON");
    plugins["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["id"] == "test-premium")
        .expect("the premium plugin is loaded")["licence"]
        .clone()
}

#[test]
fn a_premium_plugin_without_a_licence_is_not_called_until_one_is_added() {
    let portal = portal("");
    let work = tempfile::tempdir().expect("temp dir");
    let licence = issue(work.path(), "acme.licence", 10, today().plus_days(365));
    let server = portal.serve();

    let home = server.get("/");
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("No licence") && home.body.contains("no data was lost"),
        "{}",
        home.body
    );
    assert!(
        !home.body.contains("premium notes"),
        "the plugin is not called"
    );

    let (status, body) = notes_api(&server);
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["name"], "LicenceError");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("plugin `test-premium`: No licence"),
        "{body}"
    );
    assert_eq!(premium_licence(&server)["status"], "missing");

    // A form post (with a valid security token) is refused, saying why.
    let token = "ab".repeat(32);
    let action = client()
        .post(format!("{}/plugins/test-premium/actions/note", server.base))
        .header("cookie", format!("greenroom_csrf={token}"))
        .form(&[("_csrf", token.as_str())])
        .send()
        .expect("posts");
    assert_eq!(action.status().as_u16(), 402);
    let page = action.text().unwrap();
    assert!(
        page.contains("Licence required")
            && page.contains("Test: premium did not take the form: No licence"),
        "{page}"
    );

    // Added while the server runs: applied within seconds.
    let added = license_on(&server, &["add", licence.to_str().unwrap()]);
    assert!(added.contains("added licence"), "{added}");
    server.until(None, "/", "the licensed plugin is drawn", |_, body| {
        body.contains("premium notes: 0") && !body.contains("No licence")
    });
    assert_eq!(notes_api(&server), (200, serde_json::json!({ "notes": 0 })));
    assert_eq!(premium_licence(&server)["status"], "valid");
}

#[test]
fn an_expired_licence_says_when_it_expired_and_renewing_finds_the_data_again() {
    let portal = portal("");
    let work = tempfile::tempdir().expect("temp dir");
    let first = portal.add(&issue(
        work.path(),
        "first.licence",
        10,
        today().plus_days(30),
    ));
    let first_id = licence_id(&first);
    let server = portal.serve();
    assert_eq!(post_note(&server).0, 200);
    assert_eq!(post_note(&server), (200, serde_json::json!({ "notes": 2 })));

    // The licence runs out: here, replaced by one that expired ten days ago.
    let expired_on = today().plus_days(-10);
    let expired = issue(work.path(), "expired.licence", 10, expired_on);
    let added = license_on(&server, &["add", expired.to_str().unwrap()]);
    assert!(
        added.contains(&format!("it expired on {expired_on}")),
        "{added}"
    );
    license_on(&server, &["remove", &first_id]);
    let card = format!(
        "Licence expired on {expired_on} — ask your Greenroom admin to renew; no data was lost"
    );
    server.until(None, "/", "the expired card is shown", |_, body| {
        body.contains(&card)
    });
    let (status, body) = notes_api(&server);
    assert_eq!(status, 402);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("Licence expired on {expired_on}")),
        "{body}"
    );
    assert_eq!(
        post_note(&server).0,
        402,
        "nothing is written while expired"
    );

    // Renewed: the renewal replaces the expired licence, and the notes
    // written before are all there.
    let renewed = license_on(
        &server,
        &[
            "add",
            issue(work.path(), "renewed.licence", 10, today().plus_days(365))
                .to_str()
                .unwrap(),
        ],
    );
    assert!(renewed.contains("replaces licence"), "{renewed}");
    server.until(None, "/", "the renewed plugin is drawn", |_, body| {
        body.contains("premium notes: 2")
    });
    assert_eq!(notes_api(&server), (200, serde_json::json!({ "notes": 2 })));
}

#[test]
fn over_its_seats_a_premium_plugin_keeps_running_and_admins_see_when_the_grace_period_ends() {
    let portal = portal("");
    let work = tempfile::tempdir().expect("temp dir");
    portal.add(&issue(
        work.path(),
        "small.licence",
        2,
        today().plus_days(365),
    ));
    let server = portal.serve();
    // Three developers used the portal today, besides the guest making
    // these requests: four people, two seats.
    let licences = Licences::new(
        Database::open(&server.data_dir.path().join("greenroom.db")).expect("opens"),
        TrustedPublishers::default(),
    );
    for user in ["alice", "bob", "carol"] {
        licences
            .record_activity(&format!("user:default/{user}"), SystemTime::now())
            .expect("records");
    }
    let grace_until = today().plus_days(30);
    let warning = format!(
        "test-premium: 4 people used the portal in the last 30 days but its licence has 2 seats; add seats before {grace_until}"
    );
    let home = server
        .until(None, "/", "the seat warning is shown", |_, body| {
            body.contains(&warning)
        })
        .body;
    assert!(home.contains("premium notes: 0"), "it still runs: {home}");
    let licence = premium_licence(&server);
    assert_eq!(licence["status"], "over-seats", "{licence}");
    assert_eq!(licence["graceUntil"], grace_until.to_string());
    assert_eq!(licence["active"], 4);

    let list = license_on(&server, &["list"]);
    assert!(
        list.contains("4 people used the portal in the last 30 days")
            && list.contains("seats:     4 used of 2")
            && list.contains(&format!("over its seats: runs until {grace_until}")),
        "{list}"
    );
}

#[test]
fn once_the_grace_period_has_ended_the_plugin_stops_and_says_why() {
    // No grace at all: the plugin stops the day its seats are exceeded.
    let portal = portal("licence-grace-days = 0");
    let work = tempfile::tempdir().expect("temp dir");
    portal.add(&issue(
        work.path(),
        "one-seat.licence",
        1,
        today().plus_days(365),
    ));
    let licences = Licences::new(
        Database::open(&portal.data_dir.path().join("greenroom.db")).expect("opens"),
        TrustedPublishers::default(),
    );
    licences
        .record_activity("user:default/alice", SystemTime::now())
        .expect("records");
    let server = portal.serve();
    let home = server
        .until(None, "/", "the seats card is shown", |_, body| {
            body.contains("Licence over its seats")
        })
        .body;
    assert!(
        home.contains(&format!("the grace period ended on {}", today())),
        "{home}"
    );
    assert!(!home.contains("premium notes"));
    assert_eq!(notes_api(&server).0, 402);
}

#[test]
fn a_licence_with_a_bad_signature_or_from_an_untrusted_publisher_is_refused_with_the_reason() {
    let portal = portal("");
    let work = tempfile::tempdir().expect("temp dir");
    let refused = |file: &Path| {
        let output = portal.license(&["add", file.to_str().unwrap()]);
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let genuine = issue(work.path(), "genuine.licence", 5, today().plus_days(365));
    let tampered = work.path().join("tampered.licence");
    std::fs::write(
        &tampered,
        std::fs::read_to_string(&genuine)
            .unwrap()
            .replace("seats = 5", "seats = 500"),
    )
    .unwrap();
    let error = refused(&tampered);
    assert!(
        error.contains(
            "the licence's signature is not valid for publisher `greenroom-demo`'s key: the file was changed after it was signed"
        ),
        "{error}"
    );

    let other_key = work.path().join("acme.key");
    let generated = greenroom(&["keys", "generate", "--out", other_key.to_str().unwrap()]);
    assert!(generated.status.success());
    let other_key = other_key.to_str().unwrap();
    let untrusted = issue_with(
        work.path(),
        "acme.licence",
        other_key,
        "acme",
        5,
        today(),
        today().plus_days(365),
    );
    let error = refused(&untrusted);
    assert!(
        error.contains("the licence is signed by `acme`, whom this host does not trust; add its key to [[marketplace.trusted-publishers]] if you do"),
        "{error}"
    );

    // Someone else's key, claiming to be the demo publisher.
    let impostor = issue_with(
        work.path(),
        "impostor.licence",
        other_key,
        DEMO_PUBLISHER,
        5,
        today(),
        today().plus_days(365),
    );
    assert!(refused(&impostor).contains("signature is not valid"));

    let list = portal.license(&["list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("no licences"),
        "nothing refused was stored"
    );
}

/// The id `licence add` printed (`added licence <id>: …`).
fn licence_id(added: &str) -> String {
    added
        .split_whitespace()
        .nth(2)
        .expect("added licence <id>:")
        .trim_end_matches(':')
        .to_owned()
}
