//! Catalog rules against role escalation: Users and Groups — which confer
//! roles — count only from locations trusted for them.

use greenroom_catalog::{
    API_ORIGIN, Catalog, CatalogConfig, CatalogRule, CatalogRules, CatalogStore, LocationType,
    prepare_entity,
};
use greenroom_store::Database;
use std::fs;
use std::path::{Path, PathBuf};

/// The operator's organisation: a platform team whose members hold roles,
/// and an ordinary engineer, mallory.
const ORG: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/trusted-org.yaml"
));

/// What mallory writes: a team under platform with herself in it, a User
/// named like an administrator with her e-mail, and a component.
const ESCALATION: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: shadow }
spec: { type: team, parent: platform, children: [], members: [mallory] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: root }
spec: { profile: { email: mallory@example.com }, memberOf: [platform] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: mallorys-service }
spec: { type: service, lifecycle: production, owner: mallory }
";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: Database,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("greenroom.db")).unwrap();
    let root = dir.path().to_owned();
    fs::create_dir_all(root.join("org")).unwrap();
    fs::create_dir_all(root.join("authors")).unwrap();
    fs::write(root.join("org/org.yaml"), ORG).unwrap();
    Fixture {
        _dir: dir,
        root,
        db,
    }
}

fn catalog(f: &Fixture, rules: CatalogRules) -> Catalog {
    let config = CatalogConfig {
        rules,
        ..CatalogConfig::default()
    };
    Catalog::new(CatalogStore::new(f.db.clone()), config)
}

fn register(catalog: &Catalog, file: &Path, origin: &str) -> Vec<String> {
    let (_, report) = catalog
        .add_location(LocationType::File, file.to_str().unwrap(), origin, false)
        .unwrap();
    report.problems.iter().map(ToString::to_string).collect()
}

fn exists(catalog: &Catalog, entity_ref: &str) -> bool {
    catalog.store().entity_by_ref(entity_ref).unwrap().is_some()
}

#[test]
fn a_group_and_an_admin_user_registered_through_the_api_are_refused_and_confer_nothing() {
    let f = fixture();
    let catalog = catalog(&f, CatalogRules::default());
    assert!(register(&catalog, &f.root.join("org/org.yaml"), "config").is_empty());
    fs::write(f.root.join("authors/mine.yaml"), ESCALATION).unwrap();
    let problems = register(&catalog, &f.root.join("authors/mine.yaml"), API_ORIGIN);

    assert_eq!(problems.len(), 2, "{problems:?}");
    let location = format!("file:{}", f.root.join("authors/mine.yaml").display());
    assert!(
        problems[0].contains(&format!(
            "mine.yaml:3:7: kind Group is not allowed from location {location}; allowed: Component, API, Location"
        )),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("kind User is not allowed"),
        "{problems:?}"
    );
    assert!(!exists(&catalog, "group:default/shadow"));
    assert!(!exists(&catalog, "user:default/root"));
    assert!(
        exists(&catalog, "component:default/mallorys-service"),
        "the component is allowed"
    );

    let store = catalog.store();
    assert!(store.groups_of("user:default/mallory").unwrap().is_empty());
    assert_eq!(
        store.users_by_email("mallory@example.com").unwrap(),
        ["user:default/mallory"]
    );
    assert!(store.user("user:default/root").unwrap().is_none());
    // The operator's own groups still work.
    assert_eq!(
        store.groups_of("user:default/pat").unwrap(),
        ["group:default/platform"]
    );
}

#[test]
fn a_nested_location_in_an_authors_file_is_held_to_the_same_rules() {
    let f = fixture();
    let catalog = catalog(&f, CatalogRules::default());
    register(&catalog, &f.root.join("org/org.yaml"), "config");
    fs::create_dir_all(f.root.join("authors/deeper")).unwrap();
    fs::write(
        f.root.join("authors/all.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: { name: mine }\nspec: { targets: [./deeper/team.yaml] }\n",
    )
    .unwrap();
    fs::write(f.root.join("authors/deeper/team.yaml"), ESCALATION).unwrap();
    let problems = register(&catalog, &f.root.join("authors/all.yaml"), API_ORIGIN);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("team.yaml:3:7: kind Group is not allowed from location")),
        "{problems:?}"
    );
    assert!(exists(&catalog, "location:default/mine"));
    assert!(!exists(&catalog, "group:default/shadow"));
    assert!(
        catalog
            .store()
            .groups_of("user:default/mallory")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn tightened_rules_take_away_membership_at_once_before_any_refresh() {
    let f = fixture();
    // Once, the operator allowed Groups and Users from every location.
    let permissive = CatalogRules {
        global: vec![CatalogRule {
            allow: vec!["Group".into(), "User".into(), "Component".into()],
            locations: None,
        }],
        ..CatalogRules::default()
    };
    let before = catalog(&f, permissive);
    register(&before, &f.root.join("org/org.yaml"), "config");
    fs::write(f.root.join("authors/mine.yaml"), ESCALATION).unwrap();
    assert!(register(&before, &f.root.join("authors/mine.yaml"), API_ORIGIN).is_empty());
    assert!(
        before
            .store()
            .groups_of("user:default/mallory")
            .unwrap()
            .contains(&"group:default/platform".to_owned()),
        "allowed by the operator, the group works"
    );

    // The default rules: the stored group is still there, but counts for
    // nothing, and the fake admin no longer signs anyone in.
    let after = catalog(&f, CatalogRules::default());
    assert!(exists(&after, "group:default/shadow"));
    assert!(
        after
            .store()
            .groups_of("user:default/mallory")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        after.store().users_by_email("mallory@example.com").unwrap(),
        ["user:default/mallory"]
    );
}

#[test]
fn a_configured_location_with_rules_of_its_own_provides_only_those_kinds() {
    let f = fixture();
    let org = Catalog::normalise_target(
        LocationType::File,
        f.root.join("org/org.yaml").to_str().unwrap(),
    )
    .unwrap();
    let rules = CatalogRules {
        configured: vec![(LocationType::File, org, vec!["User".into()])],
        ..CatalogRules::default()
    };
    let catalog = catalog(&f, rules);
    let problems = register(&catalog, &f.root.join("org/org.yaml"), "config");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("allowed: Component, API, Location, User"),
        "{problems:?}"
    );
    assert!(exists(&catalog, "user:default/pat"));
    assert!(!exists(&catalog, "group:default/platform"));
}

fn plugin_group(catalog: &Catalog) {
    let store = catalog.store();
    let location = store
        .add_location(LocationType::Plugin, "org-sync", "plugin:org-sync")
        .unwrap();
    let group: serde_json::Value = serde_json::json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "plugin-team"},
        "spec": {"type": "team", "parent": "platform", "children": [], "members": ["mallory"]}
    });
    let ingested = prepare_entity(
        group,
        "plugin:org-sync",
        "location:default/org-sync",
        "plugin:org-sync",
    )
    .unwrap();
    store.provide(&location, &[ingested]).unwrap();
}

#[test]
fn groups_a_plugin_writes_confer_nothing_unless_the_operator_allows_it() {
    let f = fixture();
    let catalog = catalog(&f, CatalogRules::default());
    register(&catalog, &f.root.join("org/org.yaml"), "config");
    plugin_group(&catalog);
    assert!(exists(&catalog, "group:default/plugin-team"), "it is shown");
    assert!(
        catalog
            .store()
            .groups_of("user:default/mallory")
            .unwrap()
            .is_empty()
    );

    let allowed = self::catalog(
        &f,
        CatalogRules {
            plugin_people_confer_roles: true,
            ..CatalogRules::default()
        },
    );
    assert_eq!(
        allowed.store().groups_of("user:default/mallory").unwrap(),
        ["group:default/platform", "group:default/plugin-team"]
    );
}
