//! Installing from a marketplace index while the portal serves: the plugin
//! appears without a restart, and disappears when removed.

use crate::support::{Server, binary, write_config};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const INDEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../marketplace-index.toml");

fn greenroom(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("the binary runs")
}

/// `greenroom plugin install hello` from the repository's index into `data`,
/// with `extra` arguments.
fn install_hello(data: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "plugin",
        "install",
        "hello",
        "--index",
        INDEX,
        "--data-dir",
        data,
    ];
    args.extend_from_slice(extra);
    greenroom(&args)
}

#[test]
fn a_plugin_installed_from_an_index_appears_and_goes_without_a_restart() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(data_dir.path(), "[auth]\nguest = true\n");
    let server = Server::start_in(data_dir, &["--config", config.to_str().unwrap()]);
    let data = server.data_dir.path().to_str().unwrap().to_owned();
    assert!(!server.get("/").body.contains("Hello, Guest!"));

    // Requests keep coming while plugins are installed, swapped (a new
    // grant reloads the plugin), disabled and removed: none may fail.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = std::sync::Arc::clone(&stop);
        let base = server.base.clone();
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = client
                    .get(format!("{base}/"))
                    .send()
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                answers.push(status);
            }
            answers
        })
    };

    // Not trusted: the index is signed by the demo publisher.
    let refused = install_hello(&data, &["--yes"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("whom this host does not trust"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // Trusted (--demo trusts the demo publisher), granted part of what it
    // asks: storage, not catalog:read.
    let installed = install_hello(&data, &["--demo", "--grant", "storage"]);
    let stdout = String::from_utf8_lossy(&installed.stdout);
    assert!(
        installed.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    assert!(stdout.contains("verified: sha256"), "{stdout}");
    assert!(stdout.contains("granted:  storage"), "{stdout}");
    server.until(None, "/", "the installed plugin is drawn", |_, body| {
        body.contains("Hello, Guest!")
    });

    // The operator grants the rest: the plugin is loaded again with the
    // new grant and swapped in while requests continue.
    let regranted = install_hello(&data, &["--demo", "--yes"]);
    assert!(regranted.status.success());
    let started = Instant::now();
    while server.log().matches("installed plugin loaded").count() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the new grant was not loaded"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // What the index offers, what a version asks for, and what is here.
    let found = greenroom(&[
        "plugin",
        "search",
        "greet",
        "--index",
        INDEX,
        "--data-dir",
        &data,
    ]);
    let found = String::from_utf8_lossy(&found.stdout);
    assert!(
        found.contains("hello") && found.contains("(installed 0.1.0)"),
        "{found}"
    );
    let info = greenroom(&["plugin", "info", "hello", "--index", INDEX]);
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("publisher: greenroom-demo"), "{info}");
    assert!(info.contains("requests catalog:read"), "{info}");

    for (command, present, what) in [
        ("disable", false, "the disabled plugin is gone"),
        ("enable", true, "the enabled plugin is back"),
        ("remove", false, "the removed plugin is gone"),
    ] {
        let output = greenroom(&["plugin", command, "hello", "--data-dir", &data]);
        assert!(output.status.success(), "plugin {command}");
        server.until(None, "/", what, |_, body| {
            body.contains("Hello, Guest!") == present
        });
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = load.join().expect("the load thread");
    assert!(
        answers.len() > 20,
        "the load ran ({} requests)",
        answers.len()
    );
    assert!(
        answers.iter().all(|s| *s == 200),
        "every request during installs and swaps succeeded: {:?}",
        answers.iter().filter(|s| **s != 200).collect::<Vec<_>>()
    );
    let db = greenroom_store::Database::open(&server.data_dir.path().join("greenroom.db")).unwrap();
    let mut actions: Vec<String> = greenroom_access::AuditLog::new(db)
        .recent(Some("hello"), 20)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "plugin.install",
            "plugin.reinstall",
            "plugin.disable",
            "plugin.enable",
            "plugin.remove"
        ],
        "every step is audited"
    );
}
