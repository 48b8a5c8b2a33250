//! Pages in a real headless Chromium: what a person's browser does with
//! the portal's HTML, including markup a hostile plugin tried to inject.

use crate::support::Server;
use greenroom_artifacts as artifacts;
use std::path::PathBuf;
use std::process::Command;

/// Chromium, from `CHROMIUM` or the usual places. `.ci/run` installs it.
fn chromium() -> PathBuf {
    let candidates = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]
            .map(PathBuf::from),
        );
    for candidate in candidates {
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "the browser tests need Chromium: install it (`apt-get install -y chromium`) or set CHROMIUM to its path"
    );
}

/// The page's DOM after Chromium loaded it (and ran any script it would).
pub fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().expect("temp dir");
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", url])
        .output()
        .expect("Chromium runs");
    assert!(
        output.status.success(),
        "Chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn chromium_renders_the_home_page_and_runs_none_of_a_plugins_markup() {
    let server = Server::with_test_plugins("", &[artifacts::XSS_COMPONENT]);
    let dom = dump_dom(&format!("{}/", server.base));
    assert!(
        dom.contains("<title>Home · Greenroom</title>"),
        "the title is the portal's, not 'pwned':\n{dom}"
    );
    assert!(
        dom.contains("Hello, Guest!"),
        "the hello widget is rendered:\n{dom}"
    );
    assert!(
        !dom.contains("<script") && !dom.contains("<img"),
        "no element came from a plugin's string:\n{dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "it is shown as text:\n{dom}"
    );
}

#[test]
fn chromium_loads_the_stylesheet_from_the_binary() {
    let server = Server::start(&["--demo"]);
    let dom = dump_dom(&format!("{}/plugins/hello", server.base));
    assert!(dom.contains("Sign the guestbook"), "{dom}");
    assert!(dom.contains("/assets/greenroom."), "{dom}");
    let css_path = dom
        .split("href=\"/assets/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("stylesheet link");
    assert_eq!(server.get(&format!("/assets/{css_path}")).status, 200);
}

#[test]
fn chromium_renders_the_rbac_plugins_roles_page_under_demo() {
    // Under --demo the guest is a bootstrap admin, and the premium plugins
    // run with the demo publisher's licence.
    let server = Server::start(&["--demo"]);
    let dom = dump_dom(&format!("{}/plugins/rbac", server.base));
    assert!(
        !dom.contains("error-state") && !dom.contains("licence-state"),
        "the page, not an error or a licence card:\n{dom}"
    );
    for expected in [
        "<title>RBAC · Greenroom</title>",
        "<h3 class=\"card-title\">Roles</h3>",
        "No roles yet",
        "<h3 class=\"card-title\">Create a role</h3>",
        ">Create role</button>",
        "<h3 class=\"card-title\">Default role</h3>",
    ] {
        assert!(dom.contains(expected), "`{expected}` in:\n{dom}");
    }
}
