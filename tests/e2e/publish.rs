//! A publisher's path with the real binary: generate a key, sign a plugin,
//! add it to an index; the entry then verifies against the printed key.

use crate::support::{
    binary, fails_in as fails, generate_key, run_in as run, run_in_with as run_with,
};
use greenroom_marketplace::{Index, PublicKey, TrustedPublishers, verify};
use std::process::Command;

#[test]
fn a_publisher_generates_a_key_signs_and_adds_a_verifiable_index_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hello = greenroom_artifacts::bundled("hello").expect("bundled");
    std::fs::create_dir_all(dir.path().join("artifacts")).unwrap();
    std::fs::write(dir.path().join("artifacts/hello.wasm"), hello.bytes).unwrap();

    let public = generate_key(dir.path(), "acme.key");
    let signed = run(
        dir.path(),
        &[
            "plugin",
            "sign",
            "artifacts/hello.wasm",
            "--key",
            "acme.key",
        ],
    );
    let signature = signed
        .lines()
        .find_map(|l| l.strip_prefix("signature: "))
        .expect("the signature is printed")
        .trim()
        .to_owned();
    run(
        dir.path(),
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
            "artifacts/hello.wasm",
        ],
    );

    let index = Index::read(&dir.path().join("index.toml")).expect("a valid index");
    let plugin = index.plugin("hello").expect("hello is listed");
    let version = plugin.version(None).expect("one version");
    assert_eq!(
        version.artifact, "artifacts/hello.wasm",
        "relative to the index"
    );
    assert_eq!(
        version.signature, signature,
        "the same signature `plugin sign` printed"
    );
    let mut trusted = TrustedPublishers::default();
    trusted.trust("acme", PublicKey::parse(&public).unwrap());
    verify(plugin, version, hello.bytes, &trusted).expect("the entry verifies");

    // `index verify` checks the entry the same way, and names what fails.
    let trust = format!("acme={public}");
    let verified = run(
        dir.path(),
        &[
            "index",
            "verify",
            "--index",
            "index.toml",
            "--trust",
            &trust,
        ],
    );
    assert!(
        verified.contains("ok       hello 0.1.0 (artifacts/hello.wasm)"),
        "{verified}"
    );
    let untrusted = fails(dir.path(), &["index", "verify", "--index", "index.toml"]);
    assert!(
        untrusted.0.contains("whom this host does not trust"),
        "{untrusted:?}"
    );
    let mut tampered = hello.bytes.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    std::fs::write(dir.path().join("artifacts/hello.wasm"), tampered).unwrap();
    let refused = fails(
        dir.path(),
        &[
            "index",
            "verify",
            "--index",
            "index.toml",
            "--trust",
            &trust,
        ],
    );
    assert!(
        refused
            .0
            .contains("does not match the index: its sha256 is"),
        "{refused:?}"
    );

    // The key file is never overwritten.
    let again = fails(dir.path(), &["keys", "generate", "--out", "acme.key"]);
    assert!(again.1.contains("cannot create the key file"), "{again:?}");
}

/// `plugin new` → `plugin build` → signed into an index and installed; and
/// `plugin dev` draws it and swaps in an edit: the author's path from nothing, with the real binary, cargo and
/// the host.
#[test]
fn a_new_plugin_builds_at_once_and_plugin_dev_swaps_in_every_edit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sdk = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk");
    let created = run(dir.path(), &["plugin", "new", "team-radar", "--sdk", sdk]);
    assert!(
        created.contains("created the plugin `team-radar`"),
        "{created}"
    );
    // One target folder for every run of this test, so only the first
    // compiles the SDK.
    let target = concat!(env!("CARGO_TARGET_TMPDIR"), "/scaffolded-plugins");
    let built = run_with(
        dir.path(),
        &["plugin", "build", "--path", "team-radar"],
        &[("CARGO_TARGET_DIR", target)],
    );
    assert!(built.contains("built team-radar 0.1.0"), "{built}");
    let component = built
        .lines()
        .find_map(|l| l.trim().strip_prefix("component: "))
        .expect("the component's path is printed")
        .to_owned();

    assert!(std::path::Path::new(&component).is_file(), "{component}");

    // Published in a signed index, it installs as any plugin does.
    let public = generate_key(dir.path(), "team.key");
    run(
        dir.path(),
        &[
            "index",
            "add",
            "--index",
            "index.toml",
            "--key",
            "team.key",
            "--publisher",
            "team",
            "--artifact",
            &component,
            "--location",
            &format!("file:{component}"),
        ],
    );
    let config = crate::support::write_config(
        dir.path(),
        &format!("[[marketplace.trusted-publishers]]\nname = \"team\"\nkey = {public:?}\n"),
    );
    let config = config.to_str().expect("utf-8").to_owned();
    let installed = run(
        dir.path(),
        &[
            "plugin",
            "install",
            "team-radar",
            "--index",
            "index.toml",
            "--yes",
            "--config",
            &config,
            "--data-dir",
            "data",
        ],
    );
    assert!(
        installed.contains("installed team-radar 0.1.0"),
        "{installed}"
    );
    let listed = run(
        dir.path(),
        &["plugin", "list", "--config", &config, "--data-dir", "data"],
    );
    assert!(
        listed.contains("team-radar 0.1.0 (from index.toml, enabled)"),
        "{listed}"
    );

    // `plugin dev` serves it, and swaps in every rebuild without a restart.
    let mut dev = Command::new(binary())
        .args([
            "plugin",
            "dev",
            "--path",
            "team-radar",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", target)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("plugin dev starts");
    let stdout = dev.stdout.take().expect("piped");
    let (lines, serving) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(address) = line.strip_prefix("Greenroom is serving on ") {
                let _ = lines.send(address.trim().to_owned());
            }
        }
    });
    let base = serving
        .recv_timeout(std::time::Duration::from_secs(180))
        .expect("plugin dev serves");
    let home = |base: &str| -> String {
        reqwest::blocking::get(format!("{base}/"))
            .and_then(|r| r.text())
            .unwrap_or_default()
    };
    // The port opens while the plugin compiles; it draws once ready.
    crate::support::wait_until_ready(&base, String::new);
    let first = home(&base);
    assert!(first.contains("team-radar"), "{first}");
    assert!(
        first.contains("Hello, Guest!"),
        "the scaffold's widget: {first}"
    );

    let lib = dir.path().join("team-radar/src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        source.replace("\"Hello, {name}!\"", "\"Howdy, {name}!\""),
    )
    .unwrap();
    let started = std::time::Instant::now();
    while !home(&base).contains("Howdy, Guest!") {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the edit was not swapped in"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let _ = dev.kill();
    let _ = dev.wait();
}
