//! The catalog against a real database: ingestion, refresh, orphans,
//! queries, paging and facets.

use greenroom_catalog::{
    Catalog, CatalogConfig, CatalogStore, Cursor, EntityQuery, FullText, LocationType, Order,
    Predicate, ReadingAllow, UrlReading,
};
use greenroom_store::Database;
use serde_json::Value;
use std::fs;
use std::path::Path;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    catalog: Catalog,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("greenroom.db")).unwrap();
    let catalog = Catalog::new(CatalogStore::new(db), CatalogConfig::default());
    let root = dir.path().join("catalog");
    fs::create_dir_all(&root).unwrap();
    Fixture {
        _dir: dir,
        root,
        catalog,
    }
}

fn component(name: &str, owner: &str, kind_type: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: The {name} service\n{extra}spec:\n  type: {kind_type}\n  lifecycle: production\n  owner: {owner}\n"
    )
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn query(catalog: &Catalog, filter: &[&str]) -> Vec<String> {
    let filter: Vec<String> = filter.iter().map(|s| (*s).to_owned()).collect();
    let query = EntityQuery {
        filter: Predicate::from_filter_params(&filter).unwrap(),
        ..EntityQuery::default()
    };
    let page = catalog
        .store()
        .query(&Cursor::first(query), 100, None)
        .unwrap();
    names(&page.items)
}

#[test]
fn ingests_a_location_with_relations_both_ways() {
    let f = fixture();
    let file = f.root.join("catalog-info.yaml");
    write(
        &file,
        &(component("pay", "payments", "service", "")
            + "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: payments\nspec:\n  type: team\n  children: []\n"),
    );
    let (_, report) = f
        .catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    assert_eq!(report.added, 3, "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let pay = f
        .catalog
        .store()
        .entity_by_ref("Component:default/PAY")
        .unwrap()
        .unwrap();
    assert_eq!(pay["metadata"]["namespace"], "default");
    assert_eq!(pay["metadata"]["generation"], 1);
    assert!(pay["metadata"]["uid"].as_str().unwrap().len() >= 32);
    assert_eq!(
        pay["metadata"]["annotations"]["backstage.io/managed-by-location"],
        format!("file:{}", file.display())
    );
    assert_eq!(
        pay["relations"],
        serde_json::json!([{"type": "ownedBy", "targetRef": "group:default/payments"}])
    );
    let group = f
        .catalog
        .store()
        .entity_by_ref("group:default/payments")
        .unwrap()
        .unwrap();
    assert_eq!(
        group["relations"],
        serde_json::json!([{"type": "ownerOf", "targetRef": "component:default/pay"}])
    );
}

#[test]
fn refresh_picks_up_an_edit_and_keeps_the_uid() {
    let f = fixture();
    let file = f.root.join("c.yaml");
    write(&file, &component("pay", "a", "service", ""));
    let (location, _) = f
        .catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    let before = f
        .catalog
        .store()
        .entity_by_ref("component:default/pay")
        .unwrap()
        .unwrap();

    let unchanged = f.catalog.refresh_location(&location).unwrap();
    assert_eq!((unchanged.unchanged, unchanged.updated), (2, 0));

    write(&file, &component("pay", "b", "website", ""));
    let report = f.catalog.refresh_location(&location).unwrap();
    assert_eq!(report.updated, 1);
    let after = f
        .catalog
        .store()
        .entity_by_ref("component:default/pay")
        .unwrap()
        .unwrap();
    assert_eq!(after["spec"]["type"], "website");
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
    assert_eq!(after["metadata"]["generation"], 2);
    assert_ne!(after["metadata"]["etag"], before["metadata"]["etag"]);
    assert_eq!(after["relations"][0]["targetRef"], "group:default/b");
}

#[test]
fn a_removed_entity_becomes_an_orphan_and_a_removed_location_deletes_its_entities() {
    let f = fixture();
    let file = f.root.join("c.yaml");
    write(
        &file,
        &(component("pay", "a", "service", "") + &component("ledger", "a", "service", "")),
    );
    let (location, _) = f
        .catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();

    write(&file, &component("pay", "a", "service", ""));
    let report = f.catalog.refresh_location(&location).unwrap();
    assert_eq!(report.orphaned, 1);
    let ledger = f
        .catalog
        .store()
        .entity_by_ref("component:default/ledger")
        .unwrap()
        .unwrap();
    assert_eq!(
        ledger["metadata"]["annotations"]["backstage.io/orphan"],
        "true"
    );
    assert_eq!(ledger["relations"], serde_json::json!([]));
    assert_eq!(
        query(
            &f.catalog,
            &["metadata.annotations.backstage.io/orphan=true"]
        ),
        ["ledger"]
    );

    f.catalog.remove_location(&location.id).unwrap();
    assert_eq!(f.catalog.store().count().unwrap(), 0);
    assert!(
        f.catalog
            .store()
            .entity_by_ref("component:default/pay")
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_entity_broken_by_an_edit_keeps_its_last_good_version_with_the_error() {
    let f = fixture();
    let file = f.root.join("c.yaml");
    write(&file, &component("pay", "a", "service", ""));
    let (location, _) = f
        .catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();

    write(
        &file,
        &component("pay", "a", "service", "  tags: [Not Valid]\n"),
    );
    let report = f.catalog.refresh_location(&location).unwrap();
    assert_eq!(report.orphaned, 0);
    assert_eq!(report.problems.len(), 1);
    let pay = f
        .catalog
        .store()
        .entity_by_ref("component:default/pay")
        .unwrap()
        .unwrap();
    assert!(
        pay["metadata"].get("tags").is_none(),
        "the last good version"
    );
    let message = pay["status"]["items"][0]["error"]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains(":7:10: metadata.tags.0 \"Not Valid\""),
        "{message}"
    );
}

#[test]
fn an_unreadable_file_orphans_nothing() {
    let f = fixture();
    let file = f.root.join("c.yaml");
    write(&file, &component("pay", "a", "service", ""));
    let (location, _) = f
        .catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    write(&file, "kind: [unclosed\n");
    let report = f.catalog.refresh_location(&location).unwrap();
    assert_eq!(report.orphaned, 0);
    let pay = f
        .catalog
        .store()
        .entity_by_ref("component:default/pay")
        .unwrap()
        .unwrap();
    assert!(
        pay["metadata"]["annotations"]
            .get("backstage.io/orphan")
            .is_none()
    );
}

#[test]
fn the_same_entity_from_two_locations_is_a_conflict_named_on_the_second() {
    let f = fixture();
    let one = f.root.join("one.yaml");
    let two = f.root.join("two.yaml");
    write(&one, &component("pay", "a", "service", ""));
    write(&two, &component("pay", "b", "service", ""));
    f.catalog
        .add_location(LocationType::File, one.to_str().unwrap(), "test", false)
        .unwrap();
    let (_, report) = f
        .catalog
        .add_location(LocationType::File, two.to_str().unwrap(), "test", false)
        .unwrap();
    assert_eq!(report.problems.len(), 1);
    assert!(
        report.problems[0]
            .message
            .contains("conflicting entity component:default/pay"),
        "{:?}",
        report.problems
    );
    let pay = f
        .catalog
        .store()
        .entity_by_ref("component:default/pay")
        .unwrap()
        .unwrap();
    assert_eq!(pay["spec"]["owner"], "a");
}

fn many(f: &Fixture) {
    let mut text = String::new();
    for i in 0..25 {
        let kind_type = if i % 2 == 0 { "service" } else { "website" };
        let owner = if i % 5 == 0 { "team-a" } else { "team-b" };
        text += &component(&format!("c{i:02}"), owner, kind_type, "  tags: [rust]\n");
    }
    let file = f.root.join("many.yaml");
    write(&file, &text);
    f.catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
}

#[test]
fn filters_follow_backstage_semantics() {
    let f = fixture();
    many(&f);
    assert_eq!(
        query(
            &f.catalog,
            &["kind=component,spec.type=service,relations.ownedBy=group:default/team-a"]
        ),
        ["c00", "c10", "c20"]
    );
    // Several filter parameters are alternatives; values are case-insensitive.
    assert_eq!(
        query(&f.catalog, &["metadata.name=C01", "metadata.name=c02"]),
        ["c01", "c02"]
    );
    // A bare key means "exists".
    assert_eq!(query(&f.catalog, &["spec.system"]), Vec::<String>::new());
    assert_eq!(query(&f.catalog, &["metadata.tags"]).len(), 25);
}

#[test]
fn cursors_page_forwards_and_back_over_a_sorted_query() {
    let f = fixture();
    many(&f);
    let query = EntityQuery {
        filter: Predicate::from_filter_params(&["kind=component".into()]).unwrap(),
        order: Some(Order::parse("metadata.name,desc").unwrap()),
        ..EntityQuery::default()
    };
    let store = f.catalog.store();
    let first = store.query(&Cursor::first(query), 10, None).unwrap();
    assert_eq!(first.total_items, 25);
    assert_eq!(names(&first.items)[..2], ["c24", "c23"]);
    assert!(first.prev_cursor.is_none());
    let second = store
        .query(
            &Cursor::decode(first.next_cursor.as_ref().unwrap()).unwrap(),
            10,
            None,
        )
        .unwrap();
    assert_eq!(names(&second.items)[0], "c14");
    let third = store
        .query(
            &Cursor::decode(second.next_cursor.as_ref().unwrap()).unwrap(),
            10,
            None,
        )
        .unwrap();
    assert_eq!(names(&third.items), ["c04", "c03", "c02", "c01", "c00"]);
    assert!(third.next_cursor.is_none());
    let back = store
        .query(
            &Cursor::decode(third.prev_cursor.as_ref().unwrap()).unwrap(),
            10,
            None,
        )
        .unwrap();
    assert_eq!(names(&back.items), names(&second.items));
}

#[test]
fn full_text_matches_substrings_of_the_fields_asked_for() {
    let f = fixture();
    many(&f);
    // Components only: the generated location's name is a random hash,
    // which may contain any short term.
    let search = |term: &str, fields: &[&str]| {
        let query = EntityQuery {
            filter: Some(Predicate::field("kind", &["component"])),
            full_text: Some(FullText {
                term: term.into(),
                fields: fields.iter().map(|s| (*s).to_owned()).collect(),
            }),
            ..EntityQuery::default()
        };
        names(
            &f.catalog
                .store()
                .query(&Cursor::first(query), 100, None)
                .unwrap()
                .items,
        )
    };
    assert_eq!(
        search("C1", &["metadata.name"]).len(),
        10,
        "short terms scan"
    );
    assert_eq!(
        search("c17 SERV", &["metadata.description"]),
        ["c17"],
        "trigram index, any case"
    );
    assert_eq!(search("c17", &["spec.type"]), Vec::<String>::new());
}

#[test]
fn facets_count_values_as_written() {
    let f = fixture();
    many(&f);
    let facets = f
        .catalog
        .store()
        .facets(
            &["spec.type".into(), "relations.ownedBy".into()],
            Predicate::from_filter_params(&["kind=component".into()])
                .unwrap()
                .as_ref(),
            None,
        )
        .unwrap();
    assert_eq!(
        facets[0].1,
        [("service".to_owned(), 13), ("website".to_owned(), 12)]
    );
    assert_eq!(
        facets[1].1,
        [
            ("group:default/team-b".to_owned(), 20),
            ("group:default/team-a".to_owned(), 5)
        ]
    );
}

#[test]
fn a_restriction_is_anded_into_every_read() {
    let f = fixture();
    many(&f);
    let only_team_a = Predicate::field("relations.ownedBy", &["group:default/team-a"]);
    let store = f.catalog.store();
    let page = store
        .query(
            &Cursor::first(EntityQuery::default()),
            100,
            Some(&only_team_a),
        )
        .unwrap();
    assert_eq!(names(&page.items), ["c00", "c05", "c10", "c15", "c20"]);
    assert_eq!(page.total_items, 5);
    assert!(
        store
            .entity_by_ref_where("component:default/c01", Some(&only_team_a))
            .unwrap()
            .is_none()
    );
    let refs = store
        .entities_by_refs(
            &[
                "component:default/c05".into(),
                "component:default/c06".into(),
            ],
            Some(&only_team_a),
        )
        .unwrap();
    assert!(refs[0].is_some() && refs[1].is_none());
    let facets = store
        .facets(&["kind".into()], None, Some(&only_team_a))
        .unwrap();
    assert_eq!(facets[0].1, [("Component".to_owned(), 5)]);
}

#[test]
fn ancestry_leads_back_to_the_registered_location() {
    let f = fixture();
    fs::create_dir_all(f.root.join("sub")).unwrap();
    write(
        &f.root.join("all.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets: [./sub/c.yaml]\n",
    );
    write(
        &f.root.join("sub/c.yaml"),
        &component("pay", "a", "service", ""),
    );
    f.catalog
        .add_location(
            LocationType::File,
            f.root.join("all.yaml").to_str().unwrap(),
            "test",
            false,
        )
        .unwrap();
    let ancestry = f.catalog.store().ancestry("component:default/pay").unwrap();
    let chain: Vec<&str> = ancestry
        .iter()
        .map(|i| i.entity["kind"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["Component", "Location", "Location"]);
    assert_eq!(ancestry[0].parent_entity_refs, ["location:default/all"]);
    assert!(ancestry[2].parent_entity_refs.is_empty());
}

/// Serves `files` (path → body) over HTTP on a free port, for as long as
/// the test runs; anything else is a 404.
fn serve(files: Vec<(&'static str, String)>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Skip the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => ("200 OK", body.clone()),
                None => ("404 Not Found", String::new()),
            };
            let _ = write!(
                &stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn url_locations_follow_relative_targets_and_placeholders_over_http() {
    let f = fixture();
    let api = "---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: pay-api\nspec:\n  type: openapi\n  lifecycle: production\n  owner: payments\n  definition:\n    $text: ./openapi.yaml\n";
    let base = serve(vec![
        (
            "/catalog/all.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: remote\nspec:\n  targets: [./services/pay.yaml, ./services/missing.yaml]\n---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: sneaky\nspec:\n  type: file\n  target: /etc/passwd\n".to_owned(),
        ),
        (
            "/catalog/services/pay.yaml",
            component("pay", "payments", "service", "") + api,
        ),
        ("/catalog/services/openapi.yaml", "openapi: 3.0.0\n".to_owned()),
    ]);
    // The test server is on loopback: the operator names its address.
    let host = base.trim_start_matches("http://");
    let config = CatalogConfig {
        urls: UrlReading {
            allow: vec![ReadingAllow::new(host, None).unwrap()],
            ..UrlReading::default()
        },
        ..CatalogConfig::default()
    };
    let catalog = Catalog::new(f.catalog.store().clone(), config);
    let (_, report) = catalog
        .add_location(
            LocationType::Url,
            &format!("{base}/catalog/all.yaml"),
            "test",
            false,
        )
        .unwrap();
    assert_eq!(
        report.added, 5,
        "generated location, all.yaml's two Locations, pay, pay-api: {report:?}"
    );
    let api = catalog
        .store()
        .entity_by_ref("api:default/pay-api")
        .unwrap()
        .unwrap();
    assert_eq!(api["spec"]["definition"], "openapi: 3.0.0\n");
    assert_eq!(
        api["metadata"]["annotations"]["backstage.io/managed-by-location"],
        format!("url:{base}/catalog/services/pay.yaml")
    );
    let messages: Vec<&str> = report.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("a file can only be read from a file location")),
        "a URL location cannot read the server's files: {messages:?}"
    );
    assert!(messages.iter().any(|m| m.contains("404")), "{messages:?}");
}

#[test]
fn entities_without_the_sort_field_come_last_in_either_direction() {
    let f = fixture();
    let file = f.root.join("c.yaml");
    let titled =
        |name: &str, title: &str| component(name, "a", "service", &format!("  title: {title}\n"));
    write(
        &file,
        &(titled("a", "Alpha") + &component("untitled", "a", "service", "") + &titled("b", "Beta")),
    );
    f.catalog
        .add_location(LocationType::File, file.to_str().unwrap(), "test", false)
        .unwrap();
    let sorted = |order: &str| {
        let query = EntityQuery {
            filter: Some(Predicate::field("kind", &["component"])),
            order: Some(Order::parse(order).unwrap()),
            ..EntityQuery::default()
        };
        // Two per page, so the cursor crosses from titled to untitled.
        let store = f.catalog.store();
        let first = store.query(&Cursor::first(query), 2, None).unwrap();
        let next = Cursor::decode(first.next_cursor.as_ref().unwrap()).unwrap();
        let second = store.query(&next, 2, None).unwrap();
        let mut all = names(&first.items);
        all.extend(names(&second.items));
        all
    };
    assert_eq!(sorted("metadata.title,asc"), ["a", "b", "untitled"]);
    assert_eq!(sorted("metadata.title,desc"), ["b", "a", "untitled"]);
}
