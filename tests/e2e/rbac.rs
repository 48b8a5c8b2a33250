//! Roles and policies through the real binary: an operator imports a
//! policy with `greenroom rbac import` while the portal serves; a user the
//! trusted proxy signs in then sees only what the policy lets them read —
//! in the API and on pages — and is refused the audit log; export gives
//! the policy back, and an invalid import changes nothing.

use crate::sign_in::{MAYA_EMAIL, portal};
use crate::support::{fails_in, run_in};
use greenroom_access::rbac::{PolicyDocument, Rbac};

/// Engineers read what their teams own, and the organisation itself.
pub(crate) const POLICY: &str = "\
version: 1
default-role: engineer
roles:
  - name: engineer
    description: Every signed-in engineer
    policies:
      - permission: catalog.entity.read
        effect: allow
        conditions:
          anyOf:
            - rule: IS_ENTITY_OWNER
            - rule: IS_ENTITY_KIND
              params: { kinds: [group, user, domain] }
";

fn known() -> std::collections::BTreeSet<String> {
    Rbac::fixed(PolicyDocument::default(), Vec::new()).known_permissions()
}

#[test]
fn an_imported_policy_filters_what_a_signed_in_user_sees_and_round_trips() {
    let server = portal(
        "[auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = [\"127.0.0.1/32\"]\n",
        None,
    );
    let dir = server.data_dir.path().to_owned();
    let config = dir.join("greenroom.toml").display().to_string();
    let data = dir.display().to_string();
    let as_maya = |path: &str| server.get_as(Some(MAYA_EMAIL), path);
    // Before any policy: default deny, so Maya sees no component.
    let components = |body: &str| -> Vec<serde_json::Value> {
        serde_json::from_str::<Vec<serde_json::Value>>(body).expect("a JSON list")
    };
    let path = "/api/catalog/entities?filter=kind=component";
    assert!(components(&as_maya(path).body).is_empty());

    std::fs::write(dir.join("policy.yaml"), POLICY).unwrap();
    let imported = run_in(
        &dir,
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

    // The running server applies it within seconds.
    let applied = server.until(
        Some(MAYA_EMAIL),
        path,
        "the policy is applied",
        |_, body| !components(body).is_empty(),
    );
    let visible = components(&applied.body);
    for entity in &visible {
        let owners: Vec<&str> = entity["relations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == "ownedBy")
            .filter_map(|r| r["targetRef"].as_str())
            .collect();
        assert!(
            owners.iter().any(|o| [
                "group:default/team-web",
                "group:default/commerce-engineering",
                "group:default/acme-retail"
            ]
            .contains(o)),
            "{} is owned by {owners:?}, none of Maya's teams",
            entity["metadata"]["name"]
        );
    }
    assert!(
        visible.len() < 62,
        "the demo organisation has 62 components; Maya sees {}",
        visible.len()
    );
    // An entity of another team: not in the API, not on its page.
    let others = as_maya("/api/catalog/entities/by-name/system/default/billing");
    assert_eq!(others.status, 404);
    assert_eq!(as_maya("/catalog/default/system/billing").status, 404);
    assert_eq!(as_maya("/catalog/default/group/team-web").status, 200);
    // Not an auditor.
    let audit = as_maya("/api/audit");
    assert_eq!(audit.status, 403);
    assert!(
        audit
            .body
            .contains("no policy of the user's roles allows audit.read")
    );

    // Export gives back what was imported.
    let exported = run_in(
        &dir,
        &[
            "rbac",
            "export",
            "exported.yaml",
            "--config",
            &config,
            "--data-dir",
            &data,
        ],
    );
    let _ = exported;
    let back = std::fs::read_to_string(dir.join("exported.yaml")).unwrap();
    assert_eq!(
        PolicyDocument::from_yaml(&back, "exported.yaml", &known()).expect("valid"),
        PolicyDocument::from_yaml(POLICY, "policy.yaml", &known()).expect("valid")
    );

    // An invalid file is refused whole, naming every problem; nothing changes.
    std::fs::write(
        dir.join("bad.yaml"),
        POLICY.replace("catalog.entity.read", "catalog.entity.reed") + "  - name: engineer\n",
    )
    .unwrap();
    let (_, refused) = fails_in(
        &dir,
        &[
            "rbac",
            "import",
            "bad.yaml",
            "--config",
            &config,
            "--data-dir",
            &data,
        ],
    );
    assert!(
        refused.contains("no permission matches `catalog.entity.reed`"),
        "{refused}"
    );
    assert!(refused.contains("another role has this name"), "{refused}");
    run_in(
        &dir,
        &[
            "rbac",
            "export",
            "again.yaml",
            "--config",
            &config,
            "--data-dir",
            &data,
        ],
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("again.yaml")).unwrap(),
        back
    );
}

#[test]
fn the_export_of_a_data_directory_without_a_policy_imports_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data").display().to_string();
    run_in(
        dir.path(),
        &["rbac", "export", "empty.yaml", "--data-dir", &data],
    );
    let exported = std::fs::read_to_string(dir.path().join("empty.yaml")).expect("written");
    assert!(exported.contains("version: 1"), "{exported}");
    let imported = run_in(
        dir.path(),
        &["rbac", "import", "empty.yaml", "--data-dir", &data],
    );
    assert!(imported.contains("published version"), "{imported}");
}
