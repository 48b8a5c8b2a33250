//! Catalog input trusted no further than the operator says, against the
//! real binary. URLs: a catalog file's placeholders read only hosts in
//! `[catalog] reading-allow`. Roles: a catalog author registers a file (`POST /api/catalog/locations`) holding a Group
//! under the operator's platform team with themselves in it, and a User
//! named like an `[auth] admins` entry with their e-mail. The catalog rules
//! refuse both, naming the rule, and the author gains nothing: no audit
//! log, no admin pages. The operator's own Groups still confer their roles.

use crate::support::{Server, run_in, serve_dir, write_config};
use std::time::Duration;

const ORG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/trusted-org.yaml"
));

const ESCALATION: &str = "
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: mallorys-team }
spec: { targets: [./team/members.yaml] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: root }
spec: { profile: { email: mallory@example.com }, memberOf: [platform] }
";

const NESTED_GROUP: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: shadow }
spec: { type: team, parent: platform, children: [], members: [mallory] }
";

/// Everyone may register locations and read the catalog; platform's
/// members may read the audit log and the locations' problems.
const POLICY: &str = "\
version: 1
default-role: engineer
roles:
  - name: engineer
    policies:
      - { permission: catalog.entity.read, effect: allow }
      - { permission: catalog.location.create, effect: allow }
  - name: auditors
    members: [group:default/platform]
    policies:
      - { permission: audit.read, effect: allow }
      - { permission: catalog.location.read, effect: allow }
";

#[test]
fn a_catalog_author_cannot_join_a_group_or_become_an_admin_through_a_registered_file() {
    let data_dir = tempfile::tempdir().unwrap();
    let root = data_dir.path();
    std::fs::create_dir_all(root.join("org")).unwrap();
    std::fs::create_dir_all(root.join("authors/team")).unwrap();
    std::fs::write(root.join("org/org.yaml"), ORG).unwrap();
    std::fs::write(root.join("authors/mine.yaml"), ESCALATION).unwrap();
    std::fs::write(root.join("authors/team/members.yaml"), NESTED_GROUP).unwrap();
    std::fs::write(root.join("policy.yaml"), POLICY).unwrap();
    let config = write_config(
        root,
        "[auth]\nadmins = [\"user:default/root\"]\n\n\
         [auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = [\"127.0.0.1/32\"]\n\n\
         [[catalog.locations]]\ntype = \"file\"\ntarget = \"org/org.yaml\"\n",
    );
    let config = config.to_str().unwrap().to_owned();
    let data = root.to_str().unwrap().to_owned();
    let imported = run_in(
        root,
        &[
            "rbac",
            "import",
            "policy.yaml",
            "--config",
            &config,
            "--data-dir",
            &data,
        ],
    );
    assert!(imported.contains("published version"), "{imported}");
    let server = Server::start_in(data_dir, &["--config", &config]);
    server.wait_for_catalog();

    // The operator's group works: pat reads the audit log, mallory not.
    let pat = "pat@example.com";
    let mallory = "mallory@example.com";
    assert_eq!(server.get_as(Some(pat), "/api/audit").status, 200);
    assert_eq!(server.get_as(Some(mallory), "/api/audit").status, 403);

    // Mallory registers her file through the API.
    let target = server.data_dir.path().join("authors/mine.yaml");
    let registered = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
        .post(format!("{}/api/catalog/locations", server.base))
        .header("X-Forwarded-Email", mallory)
        .header("content-type", "application/json")
        .body(serde_json::json!({"type": "file", "target": target.to_str().unwrap()}).to_string())
        .send()
        .unwrap();
    let status = registered.status().as_u16();
    let body = registered.text().unwrap();
    assert_eq!(status, 201, "{body}");

    // Her Location is in; her Group and fake admin are not.
    let entity = |path: &str| server.get_as(Some(pat), path).status;
    assert_eq!(
        entity("/api/catalog/entities/by-name/location/default/mallorys-team"),
        200
    );
    assert_eq!(
        entity("/api/catalog/entities/by-name/group/default/shadow"),
        404
    );
    assert_eq!(
        entity("/api/catalog/entities/by-name/user/default/root"),
        404
    );

    // The refusals are problems naming the rule, on the catalog's page.
    let page = server.get_as(Some(pat), "/catalog").body;
    assert!(
        page.contains("kind User is not allowed from location file:")
            && page.contains("kind Group is not allowed from location file:")
            && page.contains("allowed: Component, API, Location"),
        "{page}"
    );

    // She gained nothing: no audit log, no admin pages, signed in as herself.
    assert_eq!(server.get_as(Some(mallory), "/api/audit").status, 403);
    assert_eq!(server.get_as(Some(mallory), "/admin/plugins").status, 403);
    let me = server.get_as(Some(mallory), "/me");
    assert_eq!(me.status, 200, "{}", me.body);
    assert!(
        me.body.contains("user:default/mallory") && !me.body.contains("user:default/root"),
        "{}",
        me.body
    );
    // Pat, in the operator's platform team, still reads it.
    assert_eq!(server.get_as(Some(pat), "/api/audit").status, 200);
}

#[test]
fn catalog_placeholders_read_only_the_hosts_the_operator_allows() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("openapi.yaml"), "openapi: 3.0.0\n").unwrap();
    let base = serve_dir(served.path());
    let allowed = base.trim_start_matches("http://").to_owned();
    let api = |name: &str, target: &str| {
        format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {{ name: {name} }}\n\
             spec: {{ type: openapi, lifecycle: production, owner: team-a, definition: {{ $text: \"{target}\" }} }}\n"
        )
    };
    let data_dir = tempfile::tempdir().unwrap();
    let catalog = api("allowed", &format!("{base}/openapi.yaml"))
        + &api("metadata", "http://169.254.169.254/latest/meta-data/")
        // The same server by a name that resolves to loopback.
        + &api("by-name", &base.replace("127.0.0.1", "localhost"));
    std::fs::write(data_dir.path().join("apis.yaml"), catalog).unwrap();
    let config = write_config(
        data_dir.path(),
        &format!(
            "[auth]\nguest = true\n\n[catalog]\nreading-allow = [{{ host = \"{allowed}\" }}, \
             {{ host = \"{}\" }}]\n\n[[catalog.locations]]\ntype = \"file\"\ntarget = \"apis.yaml\"\n",
            allowed.replace("127.0.0.1", "localhost")
        ),
    );
    let server = Server::start_in(data_dir, &["--config", config.to_str().unwrap()]);
    let read = server.wait_for("/api/catalog/entities/by-name/api/default/allowed");
    let entity: serde_json::Value = serde_json::from_str(&read.body).unwrap();
    assert_eq!(entity["spec"]["definition"], "openapi: 3.0.0\n");
    for refused in ["metadata", "by-name"] {
        let path = format!("/api/catalog/entities/by-name/api/default/{refused}");
        assert_eq!(server.get(&path).status, 404, "{refused} was stored");
    }
    let page = server.get("/catalog").body;
    assert!(
        page.contains("its host is not in [catalog] reading-allow")
            && page.contains("`localhost` resolved to"),
        "{page}"
    );
}
