use crate::support::{Server, binary};
use greenroom_artifacts as artifacts;
use std::process::Command;

#[test]
fn refused_plugins_are_listed_with_the_reason_while_the_rest_serve() {
    let server = Server::with_test_plugins(
        "",
        &[
            artifacts::NOT_A_PLUGIN_COMPONENT,
            artifacts::WRONG_WIT_COMPONENT,
            artifacts::BAD_MANIFEST_COMPONENT,
        ],
    );
    let api: serde_json::Value =
        serde_json::from_str(&server.get("/api/plugins").body).expect("JSON");
    let failed = api["failed"].as_array().expect("failed list");
    let reason = |file: &str| {
        let entry = failed
            .iter()
            .find(|f| f["source"].as_str().is_some_and(|s| s.ends_with(file)))
            .expect("refused plugin listed");
        entry["error"].as_str().expect("reason").to_owned()
    };
    assert!(reason("test_plugin_not_a_plugin.wasm").contains("not a Greenroom plugin"));
    assert!(
        reason("test_plugin_wrong_wit.wasm")
            .contains("built against greenroom:plugin@9.0.0, but this host supports 0.1.0")
    );
    assert!(reason("test_plugin_bad_manifest.wasm").contains("manifest field `tier`"));
    let page = server.get("/plugins");
    assert!(
        page.body.contains("Plugins that could not be loaded")
            && page.body.contains("manifest field `tier`")
    );
    assert!(
        server.get("/").body.contains("Hello, Guest!"),
        "the good plugin still serves"
    );
    assert!(
        server.log().contains("plugin not loaded"),
        "the refusal is logged"
    );
}

fn inspect(path: &str) -> (bool, String, String) {
    let output = Command::new(binary())
        .args(["plugin", "inspect", path])
        .output()
        .expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn inspect_explains_why_a_file_is_not_a_plugin() {
    let cases = [
        (artifacts::NOT_A_PLUGIN_COMPONENT, "not a Greenroom plugin"),
        (artifacts::WRONG_WIT_COMPONENT, "greenroom:plugin@9.0.0"),
        (
            artifacts::BAD_MANIFEST_COMPONENT,
            "manifest field `tier`: unknown variant `gold`",
        ),
    ];
    for (path, reason) in cases {
        let (ok, _, stderr) = inspect(path);
        assert!(!ok, "{path} must be refused");
        assert!(stderr.contains(reason), "{path}: {stderr}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "just some text").expect("written");
    let (ok, _, stderr) = inspect(text.to_str().expect("utf-8"));
    assert!(
        !ok && stderr.contains("not a WebAssembly component"),
        "{stderr}"
    );
}

#[test]
fn inspect_describes_a_good_plugin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hello.wasm");
    std::fs::write(&path, artifacts::bundled("hello").expect("bundled").bytes).expect("written");
    let (ok, stdout, stderr) = inspect(path.to_str().expect("utf-8"));
    assert!(ok, "{stderr}");
    for expected in [
        "hello 0.1.0",
        "greenroom:plugin@0.1.1 (served by greenroom:plugin@0.1.1)",
        "sha256:",
        "requests:  storage",
        "home-widget `greeting`",
        "compiles and links",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
