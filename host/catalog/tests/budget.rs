//! Hostile catalog input against a real database (issue 12, items 1–3 and
//! 17): files nested thousands of levels deep, alias bombs through values
//! and keys, and entities too deep to read back are problems on their
//! entities with `file:line`, never a crash; a row an older version stored
//! too deep no longer fails a list; relation targets are lower-cased as
//! Backstage writes them.

use greenroom_catalog::{
    Catalog, CatalogConfig, CatalogStore, Cursor, EntityQuery, LocationType, Predicate,
    SourceProblem,
};
use greenroom_store::Database;
use serde_json::{Value, json};
use std::fs;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    db: Database,
    catalog: Catalog,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("greenroom.db")).unwrap();
    let catalog = Catalog::new(CatalogStore::new(db.clone()), CatalogConfig::default());
    let root = dir.path().join("catalog");
    fs::create_dir_all(&root).unwrap();
    Fixture {
        _dir: dir,
        root,
        db,
        catalog,
    }
}

fn component(name: &str, owner: &str) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )
}

/// Every entity's name but the generated locations', through the paged
/// query and the legacy list.
fn listed(catalog: &Catalog) -> Vec<String> {
    let store = catalog.store();
    let page = store
        .query(&Cursor::first(EntityQuery::default()), 100, None)
        .expect("the paged query answers");
    let list = store
        .list(&EntityQuery::default(), 0, None, None)
        .expect("the list answers");
    assert_eq!(page.items, list);
    list.iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap_or("?").to_owned())
        .filter(|name| !name.starts_with("generated-"))
        .collect()
}

fn problem_on<'a>(problems: &'a [SourceProblem], entity: &str) -> &'a SourceProblem {
    problems
        .iter()
        .find(|p| p.entity_ref.as_deref() == Some(entity))
        .unwrap_or_else(|| panic!("no problem on {entity}: {problems:?}"))
}

#[test]
fn deep_and_alias_bomb_documents_are_problems_on_their_entities_and_the_rest_is_stored() {
    let f = fixture();
    // 2 000 levels of block sequences in 4 KB (item 1).
    let deep = component("deep", "a") + &format!("  deep:\n    {}x\n", "- ".repeat(2_000));
    // A billion laughs through values (9^9 copies) and through keys (item 2).
    let mut lol =
        component("lol", "a") + "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    let mut keys =
        component("keys", "a") + "  k0: &k0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for i in 1..10 {
        let values = vec![format!("*l{}", i - 1); 9].join(", ");
        lol += &format!("  l{i}: &l{i} [{values}]\n");
        let keyed = vec![format!("*k{}", i - 1); 9].join(", ");
        keys += &format!("  k{i}: &k{i} {{? [{keyed}] : x}}\n");
    }
    // 126 levels: stored before, then unreadable for every list (item 3).
    let tall =
        component("tall", "a") + &format!("  tall: {}x{}\n", "[".repeat(126), "]".repeat(126));
    let text = [component("pay", "a"), deep, lol, keys, tall].concat();
    let file = f.root.join("catalog-info.yaml");
    fs::write(&file, &text).unwrap();

    let (location, report) = f
        .catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cases = [
        (
            "component:default/deep",
            line_of("- - -"),
            "deeper than 64 levels",
        ),
        (
            "component:default/lol",
            line_of("l5: &l5"),
            "billion laughs",
        ),
        (
            "component:default/keys",
            line_of("k1: &k1"),
            "mapping keys must be strings",
        ),
        (
            "component:default/tall",
            line_of("tall: [[["),
            "deeper than 64 levels",
        ),
    ];
    for (entity, line, says) in cases {
        let problem = problem_on(&report.problems, entity);
        assert_eq!(problem.position.map(|p| p.line), Some(line), "{problem}");
        assert!(problem.message.contains(says), "{problem}");
        let shown = problem.to_string();
        assert!(
            shown.starts_with(&format!("{}:{line}:", file.display())),
            "file:line: {shown}"
        );
    }
    assert_eq!(report.problems.len(), 4, "{:?}", report.problems);
    // The good entity is stored and every list answers, again after a
    // refresh (the server re-reads the file at every start).
    assert_eq!(listed(&f.catalog), ["pay"]);
    f.catalog.refresh_location(&location).unwrap();
    assert_eq!(listed(&f.catalog), ["pay"]);
    // The problems are kept where the catalog page shows them.
    let stored = f.catalog.store().problems().unwrap();
    assert_eq!(
        problem_on(&stored, "component:default/deep")
            .position
            .map(|p| p.line),
        Some(cases[0].1)
    );
}

#[test]
fn an_entity_made_too_deep_by_a_placeholder_is_refused_at_the_placeholder() {
    let f = fixture();
    fs::write(
        f.root.join("deep.json"),
        format!("{}1{}", "[".repeat(100), "]".repeat(100)),
    )
    .unwrap();
    let file = f.root.join("c.yaml");
    fs::write(
        &file,
        component("pay", "a") + "  definition:\n    $json: ./deep.json\n",
    )
    .unwrap();
    let (_, report) = f
        .catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    let problem = problem_on(&report.problems, "component:default/pay");
    assert_eq!(problem.position.map(|p| p.line), Some(11), "{problem}");
    assert!(problem.message.contains("deeper than 64"), "{problem}");
    assert!(listed(&f.catalog).is_empty());
}

#[test]
fn a_row_stored_too_deep_by_an_older_version_does_not_fail_the_lists() {
    let f = fixture();
    let file = f.root.join("c.yaml");
    fs::write(&file, component("pay", "a") + &component("old", "a")).unwrap();
    f.catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    // What an older version stored for an entity nested 200 levels deep.
    let deep = format!(
        "{{\"apiVersion\":\"backstage.io/v1alpha1\",\"kind\":\"Component\",\"metadata\":{{\"name\":\"old\"}},\"spec\":{}1{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    f.db.connection()
        .unwrap()
        .execute(
            "UPDATE catalog_bodies SET body = ?1 WHERE entity_id = \
             (SELECT id FROM catalog_entities WHERE entity_ref = 'component:default/old')",
            [&deep],
        )
        .unwrap();

    assert_eq!(listed(&f.catalog), ["old", "pay"]);
    let old = f
        .catalog
        .store()
        .entity_by_ref("component:default/old")
        .unwrap()
        .unwrap();
    assert_eq!(old["kind"], "component");
    let message = old["status"]["items"][0]["error"]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("cannot be read back"), "{message}");
}

#[test]
fn relation_targets_are_lower_cased_as_backstage_writes_them() {
    let f = fixture();
    let file = f.root.join("c.yaml");
    fs::write(
        &file,
        component("Pay", "CNCF")
            + "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: CNCF\nspec:\n  type: team\n  children: []\n",
    )
    .unwrap();
    f.catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    let store = f.catalog.store();
    let pay = store
        .entity_by_ref("component:default/pay")
        .unwrap()
        .unwrap();
    assert_eq!(
        pay["relations"],
        json!([{"type": "ownedBy", "targetRef": "group:default/cncf"}])
    );
    let group = store.entity_by_ref("group:default/CNCF").unwrap().unwrap();
    assert_eq!(
        group["relations"],
        json!([{"type": "ownerOf", "targetRef": "component:default/pay"}])
    );
    assert_eq!(group["metadata"]["name"], "CNCF", "names keep their case");
    // Relation facets show the same spelling; filters match any case.
    let facets = store
        .facets(&["relations.ownedBy".into()], None, None)
        .unwrap();
    assert_eq!(facets[0].1, [("group:default/cncf".to_owned(), 1)]);
    let filter =
        Predicate::from_filter_params(&["relations.ownedBy=group:default/CNCF".into()]).unwrap();
    let query = EntityQuery {
        filter,
        ..EntityQuery::default()
    };
    let page = store.query(&Cursor::first(query), 10, None).unwrap();
    let names: Vec<&Value> = page.items.iter().map(|e| &e["metadata"]["name"]).collect();
    assert_eq!(names, [&json!("Pay")]);
}
