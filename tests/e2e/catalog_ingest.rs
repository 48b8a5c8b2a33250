//! The catalog's ingestion with the real binary: the linter, import into a
//! data directory, the refresh loop, and a crash in the middle of ingesting.

use crate::support::{Server, binary, write_config};
use greenroom_store::Database;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: NAME\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";

fn component(name: &str) -> String {
    COMPONENT.replace("NAME", name)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls the database until `check` holds, or fails after `timeout`.
fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn entity_count(data_dir: &Path) -> i64 {
    let Ok(db) = Database::open(&data_dir.join("greenroom.db")) else {
        return 0;
    };
    let conn = db.connection().expect("a connection");
    conn.query_row("SELECT COUNT(*) FROM catalog_entities", [], |r| r.get(0))
        .unwrap_or(0)
}

fn stored_body(data_dir: &Path, entity_ref: &str) -> Option<serde_json::Value> {
    let db = Database::open(&data_dir.join("greenroom.db")).ok()?;
    let conn = db.connection().ok()?;
    let body: String = conn
        .query_row(
            "SELECT b.body FROM catalog_entities e JOIN catalog_bodies b ON b.entity_id = e.id WHERE e.entity_ref = ?1",
            [entity_ref],
            |r| r.get(0),
        )
        .ok()?;
    serde_json::from_str(&body).ok()
}

#[test]
fn validate_prints_each_problem_like_a_linter_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("services")).unwrap();
    std::fs::write(
        dir.path().join("services/pay.yaml"),
        format!("{}---\n{}", component("Pay_Svc!"), component("ledger")),
    )
    .unwrap();
    std::fs::write(dir.path().join("services/dup.yaml"), component("ledger")).unwrap();
    let output = run(dir.path(), &["catalog", "validate", "services"]);
    let stdout = text(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("services/pay.yaml:4:9: metadata.name \"Pay_Svc!\" must be sequences of [a-zA-Z0-9] separated by any of [-_.]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("duplicate entity component:default/ledger"),
        "{stdout}"
    );

    std::fs::write(dir.path().join("services/pay.yaml"), component("pay")).unwrap();
    std::fs::remove_file(dir.path().join("services/dup.yaml")).unwrap();
    let output = run(dir.path(), &["catalog", "validate", "services/pay.yaml"]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("1 entities, no problems"));
}

#[test]
fn import_registers_a_location_in_the_data_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("catalog-info.yaml"), component("pay")).unwrap();
    let data = dir.path().join("data");
    let output = run(
        dir.path(),
        &[
            "catalog",
            "import",
            "--data-dir",
            data.to_str().unwrap(),
            "./catalog-info.yaml",
        ],
    );
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(
        stdout.contains("2 added"),
        "the component and its location: {stdout}"
    );
    let pay = stored_body(&data, "component:default/pay").expect("stored");
    assert_eq!(
        pay["metadata"]["annotations"]["backstage.io/managed-by-location"],
        format!("file:{}", dir.path().join("catalog-info.yaml").display())
    );
}

#[test]
fn the_refresh_loop_picks_up_edits_and_orphans_removed_entities() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let catalog = data_dir.path().join("catalog.yaml");
    std::fs::write(
        &catalog,
        format!("{}---\n{}", component("pay"), component("ledger")),
    )
    .unwrap();
    let config = write_config(
        data_dir.path(),
        "[auth]\nguest = true\n\n[catalog]\nrefresh-interval = \"1s\"\n\n[[catalog.locations]]\ntype = \"file\"\ntarget = \"catalog.yaml\"\n",
    );
    let server = Server::start_in(data_dir, &["--config", config.to_str().unwrap()]);
    let data = server.data_dir.path().to_owned();
    eventually(Duration::from_secs(30), "the first refresh", || {
        stored_body(&data, "component:default/ledger").is_some()
    });

    std::fs::write(&catalog, component("pay").replace("service", "website")).unwrap();
    eventually(Duration::from_secs(30), "the edit", || {
        stored_body(&data, "component:default/pay").is_some_and(|e| e["spec"]["type"] == "website")
    });
    eventually(Duration::from_secs(30), "the orphan", || {
        stored_body(&data, "component:default/ledger")
            .is_some_and(|e| e["metadata"]["annotations"]["backstage.io/orphan"] == "true")
    });
    drop(server);
}

/// kill -9 while a large catalog is being ingested, then check the
/// database is whole and the next start completes the ingestion.
#[test]
fn a_crash_during_ingestion_leaves_the_store_consistent() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let folder = data_dir.path().join("big");
    let files = greenroom_catalog::generate::organisation(6000);
    for (path, text) in &files {
        let path = folder.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let config = write_config(
        data_dir.path(),
        "[auth]\nguest = true\n\n[[catalog.locations]]\ntype = \"file\"\ntarget = \"big/all.yaml\"\n",
    );
    let config = config.to_str().unwrap().to_owned();
    let server = Server::start_in(data_dir, &["--config", &config]);
    let data = server.data_dir.path().to_owned();
    // Expected: the 6000, the all.yaml Location and the generated one.
    let total = 6002;
    eventually(Duration::from_secs(120), "ingestion to start", || {
        entity_count(&data) > 0
    });
    let at_crash = entity_count(&data);
    let data_dir = server.stop(); // SIGKILL
    assert!(
        at_crash < total,
        "ingestion finished before the kill ({at_crash}); grow the catalog"
    );

    let db = Database::open(&data_dir.path().join("greenroom.db"))
        .expect("the database opens after a crash");
    let conn = db.connection().unwrap();
    let check = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_eq!(
        check(
            "SELECT COUNT(*) FROM catalog_entities e WHERE NOT EXISTS (SELECT 1 FROM catalog_search s WHERE s.entity_id = e.id)"
        ),
        0,
        "every stored entity is stored whole"
    );
    assert_eq!(
        check(
            "SELECT COUNT(*) FROM catalog_relations r WHERE NOT EXISTS (SELECT 1 FROM catalog_entities e WHERE e.id = r.producer_id)"
        ),
        0
    );
    assert_eq!(
        check(
            "SELECT COUNT(*) FROM catalog_text t WHERE NOT EXISTS (SELECT 1 FROM catalog_entities e WHERE e.id = t.rowid)"
        ),
        0
    );
    drop(conn);
    drop(db);

    let server = Server::start_in(data_dir, &["--config", &config]);
    let data = server.data_dir.path().to_owned();
    eventually(
        Duration::from_secs(180),
        "ingestion to complete after the restart",
        || entity_count(&data) == total,
    );
    assert!(stored_body(&data, "group:default/team-00001").is_some());
}

/// A catalog file with a document nested 2 000 levels deep, alias bombs
/// through values and through keys, and an entity nested 126 levels deep
/// (issue 12, items 1–3), beside a good entity.
fn hostile_catalog() -> String {
    let mut lol = component("lol") + "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    let mut keys = component("keys") + "  k0: &k0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for i in 1..10 {
        let values = vec![format!("*l{}", i - 1); 9].join(", ");
        lol += &format!("  l{i}: &l{i} [{values}]\n");
        let keyed = vec![format!("*k{}", i - 1); 9].join(", ");
        keys += &format!("  k{i}: &k{i} {{? [{keyed}] : x}}\n");
    }
    [
        component("pay"),
        component("deep") + &format!("  deep:\n    {}x\n", "- ".repeat(2_000)),
        lol,
        keys,
        component("tall") + &format!("  tall: {}x{}\n", "[".repeat(126), "]".repeat(126)),
    ]
    .join("---\n")
}

/// The problem stored on `entity`: its line and message.
fn stored_problem(data_dir: &Path, entity: &str) -> Option<(i64, String)> {
    let db = Database::open(&data_dir.join("greenroom.db")).ok()?;
    let conn = db.connection().ok()?;
    conn.query_row(
        "SELECT line, message FROM catalog_errors WHERE entity_ref = ?1",
        [entity],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

#[test]
fn hostile_catalog_files_are_problems_with_their_line_and_the_server_keeps_serving() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let catalog = hostile_catalog();
    std::fs::write(data_dir.path().join("catalog.yaml"), &catalog).unwrap();
    let line_of =
        |needle: &str| (catalog.lines().position(|l| l.contains(needle)).unwrap() + 1) as i64;
    let expected = [
        ("deep", line_of("- - -"), "deeper than 64 levels"),
        ("lol", line_of("l5: &l5"), "billion laughs"),
        ("keys", line_of("k1: &k1"), "mapping keys must be strings"),
        ("tall", line_of("tall: [[["), "deeper than 64 levels"),
    ];

    // The linter names each one with file:line and fails, without crashing.
    let output = run(data_dir.path(), &["catalog", "validate", "catalog.yaml"]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        text(&output.stderr)
    );
    for (_, line, says) in expected {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("catalog.yaml:{line}:")) && l.contains(says)),
            "catalog.yaml:{line}: {says} in:\n{stdout}"
        );
    }

    // The server stores the good entity, lists the others' problems, keeps
    // serving through refreshes, and starts again on the same data.
    let config = write_config(
        data_dir.path(),
        "[auth]\nguest = true\n\n[catalog]\nrefresh-interval = \"1s\"\n\n[[catalog.locations]]\ntype = \"file\"\ntarget = \"catalog.yaml\"\n",
    );
    let args = ["--config", config.to_str().unwrap()];
    let mut server = Server::start_in(data_dir, &args);
    for _ in 0..2 {
        server.wait_for_catalog();
        let data = server.data_dir.path().to_owned();
        eventually(Duration::from_secs(30), "the problems", || {
            stored_problem(&data, "component:default/tall").is_some()
        });
        for (name, line, says) in expected {
            let (stored_line, message) =
                stored_problem(&data, &format!("component:default/{name}"))
                    .unwrap_or_else(|| panic!("no problem stored on {name}"));
            assert_eq!(stored_line, line, "{name}: {message}");
            assert!(message.contains(says), "{name}: {message}");
        }
        std::thread::sleep(Duration::from_secs(2));
        assert!(server.is_running(), "{}", server.log());
        let list = server.wait_for("/api/catalog/entities?filter=kind=component");
        assert!(list.body.contains("\"pay\""), "{}", list.body);
        assert!(!list.body.contains("\"deep\""), "{}", list.body);
        assert_eq!(server.get("/catalog").status, 200);
        let data_dir = server.stop();
        server = Server::start_in(data_dir, &args);
    }
}
