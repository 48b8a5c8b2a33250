//! An operator upgrades a plugin between two real versions, published in
//! an index served over HTTP, through the running server's admin API
//! (`greenroom plugin … --server`), while requests keep coming: the new
//! capability needs consent, a refused upgrade leaves the old version
//! serving, a partial grant gets `denied`, and no request fails.

use crate::support::{Server, fails_in, generate_key, run_in, serve_dir, write_config};
use greenroom_artifacts as artifacts;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A publisher's folder: a key, both versions and a signed index.
fn publish(dir: &Path) -> String {
    std::fs::copy(
        artifacts::UPGRADE_V1_COMPONENT,
        dir.join("upgrade-1.0.0.wasm"),
    )
    .unwrap();
    std::fs::copy(
        artifacts::UPGRADE_V2_COMPONENT,
        dir.join("upgrade-2.0.0.wasm"),
    )
    .unwrap();
    let public = generate_key(dir, "acme.key");
    for artifact in ["upgrade-1.0.0.wasm", "upgrade-2.0.0.wasm"] {
        run_in(
            dir,
            &[
                "index",
                "add",
                "--index",
                "index.toml",
                "--key",
                "acme.key",
                "--publisher",
                "acme",
                "--artifact",
                artifact,
            ],
        );
    }
    public
}

/// The home page's line from the upgrade plugin.
fn serving(server: &Server) -> String {
    let body = server.get("/").body;
    body.split(['<', '>'])
        .find(|s| s.starts_with("test-upgrade "))
        .unwrap_or("(not on the page)")
        .to_owned()
}

#[test]
fn an_upgrade_under_load_needs_consent_for_what_is_new_and_fails_no_request() {
    let publisher = tempfile::tempdir().expect("temp dir");
    let key = publish(publisher.path());
    let index = format!("{}/index.toml", serve_dir(publisher.path()));

    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = write_config(
        data_dir.path(),
        &format!(
            "[auth]\nguest = true\n\n[marketplace]\nindexes = [{index:?}]\n\n\
             [[marketplace.trusted-publishers]]\nname = \"acme\"\nkey = {key:?}\n"
        ),
    );
    let config = config.to_str().unwrap().to_owned();
    let server = Server::start_in(data_dir, &["--config", &config]);
    let data = server.data_dir.path().to_str().unwrap().to_owned();
    let here = server.data_dir.path().to_owned();
    // `greenroom args` through the server; its stdout, or (`bad`) its
    // stderr when it must fail.
    let with_server = |args: &[&str]| -> Vec<String> {
        let server = [
            "--server",
            &server.base,
            "--config",
            &config,
            "--data-dir",
            &data,
        ];
        args.iter()
            .chain(server.iter())
            .map(|a| a.to_string())
            .collect()
    };
    let ok = |args: &[&str]| {
        let all = with_server(args);
        run_in(&here, &all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let bad = |args: &[&str]| {
        let all = with_server(args);
        fails_in(&here, &all.iter().map(String::as_str).collect::<Vec<_>>()).1
    };

    // Install 1.0.0 through the server: it answers once the plugin serves.
    let installed = ok(&[
        "plugin",
        "install",
        "test-upgrade",
        "--version",
        "1.0.0",
        "--yes",
    ]);
    assert!(
        installed.contains("installed test-upgrade 1.0.0"),
        "{installed}"
    );
    assert!(installed.contains("loaded and serving"), "{installed}");
    let line = serving(&server);
    assert!(
        line.starts_with("test-upgrade 1.0.0 serving; catalog: denied"),
        "{line}"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, base) = (Arc::clone(&stop), server.base.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let status = client
                    .get(format!("{base}/"))
                    .send()
                    .map(|r| r.status().as_u16());
                statuses.push(status.unwrap_or(0));
            }
            statuses
        })
    };

    // 2.0.0 asks for catalog:read too: without a terminal to ask at, the
    // upgrade is refused and names what needs consent; 1.0.0 serves on.
    let refused = bad(&["plugin", "upgrade", "test-upgrade"]);
    assert!(
        refused.contains("consent is needed for: catalog:read"),
        "{refused}"
    );
    let line = serving(&server);
    assert!(line.starts_with("test-upgrade 1.0.0"), "{line}");

    // Granted only what 1.0.0 had: 2.0.0 serves, and its catalog read is
    // denied to it.
    let partial = ok(&["plugin", "upgrade", "test-upgrade", "--grant", "storage"]);
    assert!(
        partial.contains("upgraded test-upgrade 1.0.0 → 2.0.0"),
        "{partial}"
    );
    assert!(
        partial.contains("requests: catalog:read (new)"),
        "{partial}"
    );
    assert!(
        partial.contains("requests: storage (16.0 KiB) (granted before)"),
        "{partial}"
    );
    let line = serving(&server);
    assert!(
        line.starts_with("test-upgrade 2.0.0 serving; catalog: denied"),
        "{line}"
    );

    // Consent to everything: the same version is swapped with its new grant.
    let full = ok(&["plugin", "install", "test-upgrade", "--yes"]);
    assert!(full.contains("loaded and serving"), "{full}");
    assert_eq!(
        serving(&server),
        "test-upgrade 2.0.0 serving; catalog: granted"
    );

    // Nothing newer: upgrade says so.
    let newest = bad(&["plugin", "upgrade", "test-upgrade"]);
    assert!(
        newest.contains("is the newest version the index offers"),
        "{newest}"
    );

    stop.store(true, Ordering::Relaxed);
    let statuses = load.join().expect("the load thread");
    assert!(
        statuses.len() > 10,
        "the load ran: {} requests",
        statuses.len()
    );
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every request during the upgrades succeeded: {:?}",
        statuses.iter().filter(|s| **s != 200).collect::<Vec<_>>()
    );

    // The server lists it, and the audit log has each step by the token.
    let listed = ok(&["plugin", "list"]);
    assert!(
        listed.contains("test-upgrade 2.0.0 (from http://"),
        "{listed}"
    );
    assert!(listed.contains("serving"), "{listed}");
}

#[test]
fn the_admin_api_refuses_a_wrong_token_and_unverified_plugins() {
    let publisher = tempfile::tempdir().expect("temp dir");
    let _untrusted_key = publish(publisher.path());
    let index = format!("{}/index.toml", serve_dir(publisher.path()));
    let data_dir = tempfile::tempdir().expect("temp dir");
    // The publisher's key is not trusted here.
    let config = write_config(
        data_dir.path(),
        &format!("[marketplace]\nindexes = [{index:?}]\n"),
    );
    let config = config.to_str().unwrap().to_owned();
    let server = Server::start_in(data_dir, &["--config", &config]);
    let here = server.data_dir.path().to_owned();
    let data = here.to_str().unwrap().to_owned();

    let (_, wrong) = fails_in(
        &here,
        &[
            "plugin",
            "install",
            "test-upgrade",
            "--yes",
            "--server",
            &server.base,
            "--token",
            "not-the-token",
        ],
    );
    assert!(wrong.contains("the admin token does not match"), "{wrong}");
    assert!(wrong.contains("403"), "{wrong}");

    let (_, untrusted) = fails_in(
        &here,
        &[
            "plugin",
            "install",
            "test-upgrade",
            "--yes",
            "--server",
            &server.base,
            "--data-dir",
            &data,
        ],
    );
    assert!(
        untrusted.contains("whom this host does not trust"),
        "{untrusted}"
    );

    // Without a token and with no sign-in, the API is closed.
    let anonymous = server.get("/api/admin/plugins");
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
}
