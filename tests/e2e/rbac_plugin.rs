//! The RBAC plugin (premium, `plugins/rbac`) through the real binary: a
//! bootstrap admin signed in by the trusted proxy edits roles in its no-code
//! pages and publishes them; the people the roles name notice at once; the
//! decision tester says which rule decides; and a user without
//! `rbac.admin` can neither see the page nor change anything through it.

use crate::sign_in::{MAYA_EMAIL, portal};
use crate::support::{Reply, Server, license};
use greenroom_marketplace::{DEMO_PUBLISHER, DEMO_PUBLISHER_KEY};

/// Lucas administers the portal (a bootstrap admin from the config).
const LUCAS_EMAIL: &str = "lucas.meyer@acme-retail.example";

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
    let dir = server.data_dir.path();
    license(dir, &dir.join("greenroom.toml"), "rbac");
    server
}

fn get(server: &Server, who: &str, path: &str) -> Reply {
    server.get_as(Some(who), path)
}

/// Submits the plugin's form `action` as `who`; returns the status and,
/// for a redirect, the page it leads to (with its notice).
fn submit(server: &Server, who: &str, action: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let submitted = server.submit(
        Some(who),
        &format!("/plugins/rbac/actions/{action}"),
        fields,
    );
    (submitted.status, submitted.page)
}

fn visible_components(server: &Server, who: &str) -> usize {
    let body = get(server, who, "/api/catalog/entities?filter=kind=component").body;
    serde_json::from_str::<Vec<serde_json::Value>>(&body)
        .expect("a JSON list")
        .len()
}

#[test]
fn an_admin_edits_and_publishes_roles_in_the_plugin_and_a_user_without_rbac_admin_cannot() {
    let server = rbac_portal();
    server.until(
        Some(LUCAS_EMAIL),
        "/plugins/rbac",
        "the licensed page",
        |status, body| status == 200 && body.contains("Create role"),
    );

    // Maya holds no rbac.admin: the page is refused before the plugin is
    // called, and a forged form changes nothing.
    assert_eq!(get(&server, MAYA_EMAIL, "/plugins/rbac").status, 403);
    assert_eq!(get(&server, MAYA_EMAIL, "/plugins/rbac/tester").status, 403);
    let (_, refused) = submit(
        &server,
        MAYA_EMAIL,
        "save-document",
        &[("document", ENGINEERS)],
    );
    assert!(refused.contains("rbac.admin"), "{refused}");
    let export = get(&server, MAYA_EMAIL, "/api/plugins/rbac/export");
    assert_eq!(export.status, 403);
    let audit: serde_json::Value = serde_json::from_str(
        &get(&server, LUCAS_EMAIL, "/api/audit?plugin=rbac&decision=deny").body,
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
    let changes = get(&server, LUCAS_EMAIL, "/plugins/rbac/changes").body;
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
    assert_eq!(get(&server, MAYA_EMAIL, "/api/audit").status, 403);
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
        get(&server, MAYA_EMAIL, "/api/audit").status,
        200,
        "published at once"
    );

    // The decision tester names the rule that decides.
    let answer = get(
        &server,
        LUCAS_EMAIL,
        "/plugins/rbac/tester?user=user:default/maya.okafor&permission=audit.read",
    )
    .body;
    assert!(answer.contains("auditors"), "{answer}");
    let history = get(&server, LUCAS_EMAIL, "/plugins/rbac/history").body;
    assert!(
        history.contains("Maya audits") && history.contains("engineers read their own"),
        "{history}"
    );

    // Export gives back what is in force, as YAML to download.
    let export = get(&server, LUCAS_EMAIL, "/api/plugins/rbac/export");
    assert_eq!(export.status, 200);
    assert!(
        export.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment"),
        "a download"
    );
    let yaml = export.body;
    assert!(
        yaml.contains("name: auditors") && yaml.contains("user:default/maya.okafor"),
        "{yaml}"
    );
}
