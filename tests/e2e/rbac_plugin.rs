//! The RBAC plugin (premium, `plugins/rbac`) through the real binary: a
//! bootstrap admin signed in by the trusted proxy edits roles in its no-code
//! pages and publishes them; the people the roles name notice at once; the
//! decision tester says which rule decides; and a user without
//! `rbac.admin` can neither see the page nor change anything through it.

use crate::sign_in::{MAYA_EMAIL, portal};
use crate::support::{Server, run_in};
use greenroom_marketplace::{DEMO_PUBLISHER, DEMO_PUBLISHER_KEY, Day};
use reqwest::blocking::{Client, Response};
use std::time::{Duration, Instant, SystemTime};

const DEMO_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../keys/greenroom-demo.key");

/// Lucas administers the portal (a bootstrap admin from the config).
const LUCAS_EMAIL: &str = "lucas.meyer@acme-retail.example";

/// The double-submit CSRF token the tests' "browser" carries.
const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Engineers read what their teams own (the policy the import test uses).
const ENGINEERS: &str = crate::rbac::POLICY;

/// The portal with the RBAC plugin, licensed, and Lucas as bootstrap admin.
fn rbac_portal() -> Server {
    let server = portal(
        &format!(
            "[auth]\nadmins = [\"user:default/lucas.meyer\"]\n\n\
             [auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = [\"127.0.0.1/32\"]\n\n\
             [[marketplace.trusted-publishers]]\nname = \"{DEMO_PUBLISHER}\"\nkey = \"{DEMO_PUBLISHER_KEY}\"\n\n\
             [[plugins]]\nbundled = \"rbac\"\ngrant = [\"all\"]\n"
        ),
        None,
    );
    let dir = server.data_dir.path().to_owned();
    let today = Day::of(SystemTime::now());
    let licence = dir.join("rbac.licence");
    let args = |rest: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = rest.iter().map(|s| (*s).to_owned()).collect();
        all.extend([
            "--config".into(),
            dir.join("greenroom.toml").display().to_string(),
            "--data-dir".into(),
            dir.display().to_string(),
        ]);
        all
    };
    run_in(
        &dir,
        &[
            "license",
            "issue",
            "--key",
            DEMO_KEY,
            "--publisher",
            DEMO_PUBLISHER,
            "--licensee",
            "Acme Retail",
            "--plugin",
            "rbac",
            "--seats",
            "50",
            "--issued",
            &today.to_string(),
            "--expires",
            &today.plus_days(30).to_string(),
            "--out",
            licence.to_str().expect("utf-8 path"),
        ],
    );
    let add = args(&["license", "add", licence.to_str().expect("utf-8 path")]);
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    run_in(&dir, &add);
    server
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

fn get(server: &Server, who: &str, path: &str) -> Response {
    client()
        .get(format!("{}{path}", server.base))
        .header("X-Forwarded-Email", who)
        .send()
        .expect("the server answers")
}

/// Submits the plugin's form `action` as `who`; returns the status and,
/// for a redirect, the page it leads to (with its notice).
fn submit(server: &Server, who: &str, action: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form: Vec<(&str, &str)> = vec![("_csrf", CSRF)];
    form.extend_from_slice(fields);
    let response = client()
        .post(format!("{}/plugins/rbac/actions/{action}", server.base))
        .header("X-Forwarded-Email", who)
        .header("cookie", format!("greenroom_csrf={CSRF}"))
        .form(&form)
        .send()
        .expect("the server answers");
    let status = response.status().as_u16();
    if status == 303 {
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("/")
            .to_owned();
        // The notice travels in a cookie to the next page.
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next().map(str::to_owned))
            .collect();
        let page = client()
            .get(format!("{}{location}", server.base))
            .header("X-Forwarded-Email", who)
            .header("cookie", cookies.join("; "))
            .send()
            .expect("the server answers")
            .text()
            .expect("a page");
        return (status, page);
    }
    (status, response.text().expect("a page"))
}

/// Waits until `check` holds for what `who` gets at `path`.
fn until(server: &Server, who: &str, path: &str, what: &str, check: impl Fn(u16, &str) -> bool) {
    let started = Instant::now();
    loop {
        let response = get(server, who, path);
        let status = response.status().as_u16();
        let body = response.text().unwrap_or_default();
        if check(status, &body) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}: {path} answered {status}:\n{body}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn visible_components(server: &Server, who: &str) -> usize {
    let body = get(server, who, "/api/catalog/entities?filter=kind=component")
        .text()
        .expect("a body");
    serde_json::from_str::<Vec<serde_json::Value>>(&body)
        .expect("a JSON list")
        .len()
}

#[test]
fn an_admin_edits_and_publishes_roles_in_the_plugin_and_a_user_without_rbac_admin_cannot() {
    let server = rbac_portal();
    until(
        &server,
        LUCAS_EMAIL,
        "/plugins/rbac",
        "the licensed page",
        |status, body| status == 200 && body.contains("Create role"),
    );

    // Maya holds no rbac.admin: the page is refused before the plugin is
    // called, and a forged form changes nothing.
    assert_eq!(
        get(&server, MAYA_EMAIL, "/plugins/rbac").status().as_u16(),
        403
    );
    assert_eq!(
        get(&server, MAYA_EMAIL, "/plugins/rbac/tester")
            .status()
            .as_u16(),
        403
    );
    let (_, refused) = submit(
        &server,
        MAYA_EMAIL,
        "save-document",
        &[("document", ENGINEERS)],
    );
    assert!(refused.contains("rbac.admin"), "{refused}");
    let export = get(&server, MAYA_EMAIL, "/api/plugins/rbac/export");
    assert_eq!(export.status().as_u16(), 403);
    let audit: serde_json::Value = serde_json::from_str(
        &get(&server, LUCAS_EMAIL, "/api/audit?plugin=rbac&decision=deny")
            .text()
            .expect("a body"),
    )
    .expect("JSON");
    let denied_maya = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["actor"] == "user:default/maya.okafor");
    assert!(denied_maya, "Maya's attempt is in the audit log: {audit}");
    assert_eq!(
        visible_components(&server, MAYA_EMAIL),
        0,
        "default deny, nothing published"
    );

    // Lucas imports a policy as the draft, reviews it, publishes it.
    let (status, page) = submit(
        &server,
        LUCAS_EMAIL,
        "save-document",
        &[("document", ENGINEERS)],
    );
    assert_eq!(status, 303, "{page}");
    let changes = get(&server, LUCAS_EMAIL, "/plugins/rbac/changes")
        .text()
        .unwrap();
    assert!(
        changes.contains("engineer"),
        "the draft's changes are shown:\n{changes}"
    );
    let (status, page) = submit(
        &server,
        LUCAS_EMAIL,
        "publish",
        &[("note", "engineers read their own")],
    );
    assert_eq!(status, 303, "{page}");
    let seen = visible_components(&server, MAYA_EMAIL);
    assert!(
        seen > 0 && seen < 62,
        "Maya sees her teams' components only ({seen})"
    );

    // A refused edit says why, next to the field, and saves nothing.
    let (status, page) = submit(
        &server,
        LUCAS_EMAIL,
        "save-document",
        &[
            // As the form on the import page sends it.
            ("_return", "/plugins/rbac/yaml"),
            (
                "document",
                &ENGINEERS.replace("catalog.entity.read", "catalog.entity.reed"),
            ),
        ],
    );
    assert_eq!(status, 422, "{}", &page[page.find("<main").unwrap_or(0)..]);
    assert!(
        page.contains("catalog.entity.reed"),
        "{}",
        &page[page.find("<main").unwrap_or(0)..]
    );

    // No-code: a role for auditors with Maya in it, then published.
    assert_eq!(
        get(&server, MAYA_EMAIL, "/api/audit").status().as_u16(),
        403
    );
    for (action, fields) in [
        (
            "create-role",
            vec![("name", "auditors"), ("description", "Read the audit log")],
        ),
        (
            "add-member",
            vec![
                ("role", "auditors"),
                ("member_ref", "user:default/maya.okafor"),
            ],
        ),
        (
            "add-policy",
            vec![
                ("role", "auditors"),
                ("permission", "audit.read"),
                ("effect", "allow"),
            ],
        ),
        ("publish", vec![("note", "Maya audits")]),
    ] {
        let (status, page) = submit(&server, LUCAS_EMAIL, action, &fields);
        assert_eq!(status, 303, "{action}: {page}");
    }
    assert_eq!(
        get(&server, MAYA_EMAIL, "/api/audit").status().as_u16(),
        200,
        "published at once"
    );

    // The decision tester names the rule that decides.
    let answer = get(
        &server,
        LUCAS_EMAIL,
        "/plugins/rbac/tester?user=user:default/maya.okafor&permission=audit.read",
    )
    .text()
    .unwrap();
    assert!(answer.contains("auditors"), "{answer}");
    let history = get(&server, LUCAS_EMAIL, "/plugins/rbac/history")
        .text()
        .unwrap();
    assert!(
        history.contains("Maya audits") && history.contains("engineers read their own"),
        "{history}"
    );

    // Export gives back what is in force, as YAML to download.
    let export = get(&server, LUCAS_EMAIL, "/api/plugins/rbac/export");
    assert_eq!(export.status().as_u16(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment"),
        "a download"
    );
    let yaml = export.text().unwrap();
    assert!(
        yaml.contains("name: auditors") && yaml.contains("user:default/maya.okafor"),
        "{yaml}"
    );
}
