//! The catalog API as a function: a portal over a temporary database with
//! a small catalog (`fixtures/catalog.yaml`) registered, asked with
//! `oneshot`.

use super::ROUTES;
use crate::state::{AppState, PortalConfig};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use greenroom_catalog::{Catalog, CatalogConfig, CatalogStore, LocationType, Predicate};
use greenroom_store::Database;
use serde_json::{Value, json};
use std::path::PathBuf;

const CATALOG: &str = include_str!("fixtures/catalog.yaml");

struct Fixture {
    _dir: tempfile::TempDir,
    /// The folder holding `catalog-info.yaml`, the registered location.
    root: PathBuf,
    catalog: Catalog,
    router: Router,
    state: AppState,
}

fn fixture_with(guest_access: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("greenroom.db")).expect("database opens");
    let catalog = Catalog::new(CatalogStore::new(db), CatalogConfig::default());
    let root = dir.path().join("catalog");
    std::fs::create_dir_all(&root).expect("folder");
    let file = root.join("catalog-info.yaml");
    std::fs::write(&file, CATALOG).expect("fixture written");
    let (_, report) = catalog
        .add_location(
            LocationType::File,
            file.to_str().expect("utf-8"),
            "test",
            false,
        )
        .expect("the fixture registers");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let state = AppState::new(
        greenroom_lifecycle::PluginHost::new(Vec::new(), Vec::new()),
        PortalConfig {
            guest_access,
            ..PortalConfig::default()
        },
        catalog.clone(),
    );
    Fixture {
        _dir: dir,
        root,
        catalog,
        router: crate::app(state.clone()),
        state,
    }
}

impl Fixture {
    /// The same portal deciding with `rbac`.
    fn with_rbac(self, rbac: greenroom_access::rbac::Rbac) -> Fixture {
        let state = self.state.rebuilt(|parts| parts.rbac = Some(rbac));
        Fixture {
            router: crate::app(state.clone()),
            state,
            ..self
        }
    }
}

fn fixture() -> Fixture {
    fixture_with(true)
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
    json: Value,
}

impl Reply {
    /// The `error.message` of a Backstage error body.
    fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or_default()
    }

    /// `metadata.name` of each of `items`, or of the body when it is an array.
    fn names(&self) -> Vec<String> {
        let items = self.json.get("items").unwrap_or(&self.json);
        names(items)
    }
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap_or("-").to_owned())
        .collect()
}

async fn send(f: &Fixture, request: Request<Body>) -> Reply {
    let reply = crate::tests::send_to(&f.router, request).await;
    Reply {
        json: serde_json::from_str(&reply.body).unwrap_or(Value::Null),
        status: reply.status,
        headers: reply.headers,
        text: reply.body,
    }
}

async fn get(f: &Fixture, uri: &str) -> Reply {
    send(
        f,
        Request::get(format!("/api/catalog{uri}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

async fn write(f: &Fixture, method: Method, uri: &str, body: Option<Value>) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(format!("/api/catalog{uri}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    send(f, request).await
}

async fn post(f: &Fixture, uri: &str, body: Value) -> Reply {
    write(f, Method::POST, uri, Some(body)).await
}

async fn delete(f: &Fixture, uri: &str) -> Reply {
    write(f, Method::DELETE, uri, None).await
}

fn assert_input_error(reply: &Reply, says: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.json["error"]["name"], "InputError", "{}", reply.text);
    assert!(
        reply.message().contains(says),
        "expected {says:?} in {}",
        reply.text
    );
}

fn assert_not_found(reply: &Reply, says: &str) {
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert_eq!(
        reply.json["error"]["name"], "NotFoundError",
        "{}",
        reply.text
    );
    assert!(
        reply.message().contains(says),
        "expected {says:?} in {}",
        reply.text
    );
}

fn location_file(f: &Fixture) -> String {
    f.root
        .join("catalog-info.yaml")
        .to_string_lossy()
        .into_owned()
}

// ---- GET /entities ----

#[tokio::test]
async fn lists_matching_entities_with_only_the_fields_asked_for() {
    let f = fixture();
    let reply = get(&f, "/entities?filter=kind=component&fields=metadata.name").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json,
        json!([
            {"metadata": {"name": "billing"}},
            {"metadata": {"name": "cart"}},
            {"metadata": {"name": "checkout"}},
            {"metadata": {"name": "search"}},
        ])
    );
    let either = get(
        &f,
        "/entities?filter=kind=component,spec.type=service&filter=kind=api",
    )
    .await;
    assert_eq!(
        either.names(),
        ["checkout-api", "billing", "checkout", "search"]
    );
    let annotation = get(
        &f,
        "/entities?filter=metadata.name=checkout&fields=metadata.annotations.backstage.io/techdocs-ref",
    )
    .await;
    assert_eq!(
        annotation.json,
        json!([{"metadata": {"annotations": {"backstage.io/techdocs-ref": "dir:."}}}])
    );
}

#[tokio::test]
async fn lists_a_window_with_a_link_to_the_next_one() {
    let f = fixture();
    let first = get(&f, "/entities?filter=kind=component&limit=3").await;
    assert_eq!(first.names(), ["billing", "cart", "checkout"]);
    let link = first.headers[header::LINK]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(link.ends_with(">; rel=\"next\""), "{link}");
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .expect("a URL")
        .strip_prefix("/api/catalog")
        .expect("a catalog path");
    let second = get(&f, next).await;
    assert_eq!(second.names(), ["search"]);
    assert!(
        second.headers.get(header::LINK).is_none(),
        "the last window"
    );
    let offset = get(&f, "/entities?filter=kind=component&offset=1&limit=2").await;
    assert_eq!(offset.names(), ["cart", "checkout"]);
}

#[tokio::test]
async fn orders_the_list_by_the_first_order_parameter() {
    let f = fixture();
    let by_name = get(
        &f,
        "/entities?filter=kind=component&order=desc:metadata.name",
    )
    .await;
    assert_eq!(by_name.names(), ["search", "checkout", "cart", "billing"]);
    let by_type = get(
        &f,
        "/entities?filter=kind=component&order=desc:spec.type&order=asc:metadata.name",
    )
    .await;
    assert_eq!(by_type.names(), ["cart", "billing", "checkout", "search"]);
}

#[tokio::test]
async fn refuses_list_parameters_it_cannot_read_saying_which() {
    let f = fixture();
    for (query, says) in [
        (
            "order=sideways:metadata.name",
            "Invalid order parameter \"sideways:metadata.name\"",
        ),
        ("limit=0", "Invalid limit, must be greater than zero"),
        ("limit=ten", "Invalid limit, not an integer"),
        ("offset=-1", "Invalid offset, must be zero or greater"),
        ("after=%40%40", "Malformed after cursor"),
        ("filter==component", "Invalid filter"),
        ("fields=relations[0]", "array type fields are not supported"),
    ] {
        assert_input_error(&get(&f, &format!("/entities?{query}")).await, says);
    }
}

// ---- /entities/by-query ----

#[tokio::test]
async fn pages_through_a_query_with_cursors_both_ways() {
    let f = fixture();
    let first = get(
        &f,
        "/entities/by-query?filter=kind=component&orderField=metadata.name,asc&limit=3&fields=metadata.name",
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.names(), ["billing", "cart", "checkout"]);
    assert_eq!(first.json["totalItems"], 4);
    assert!(first.json["pageInfo"].get("prevCursor").is_none());
    let next = first.json["pageInfo"]["nextCursor"]
        .as_str()
        .expect("a next page");
    // The cursor carries the query: a filter given with it is ignored.
    let second = get(
        &f,
        &format!("/entities/by-query?cursor={next}&limit=3&filter=kind=group"),
    )
    .await;
    assert_eq!(second.names(), ["search"]);
    assert_eq!(second.json["totalItems"], 4);
    assert!(second.json["pageInfo"].get("nextCursor").is_none());
    let prev = second.json["pageInfo"]["prevCursor"]
        .as_str()
        .expect("a previous page");
    let back = get(&f, &format!("/entities/by-query?cursor={prev}&limit=3")).await;
    assert_eq!(back.names(), ["billing", "cart", "checkout"]);
}

#[tokio::test]
async fn query_sorts_searches_skips_and_may_leave_out_the_count() {
    let f = fixture();
    let descending = get(
        &f,
        "/entities/by-query?filter=kind=component&orderField=metadata.name,desc",
    )
    .await;
    assert_eq!(
        descending.names(),
        ["search", "checkout", "cart", "billing"]
    );
    let searched = get(
        &f,
        "/entities/by-query?fullTextFilterTerm=%20CHECK%20&fullTextFilterFields=metadata.name,metadata.title",
    )
    .await;
    assert_eq!(searched.names(), ["checkout-api", "checkout"]);
    assert_eq!(searched.json["totalItems"], 2);
    let skipped = get(
        &f,
        "/entities/by-query?filter=kind=component&orderField=metadata.name,asc&offset=1&limit=2",
    )
    .await;
    assert_eq!(skipped.names(), ["cart", "checkout"]);
    assert_eq!(skipped.json["totalItems"], 4);
    assert!(skipped.json["pageInfo"].get("prevCursor").is_none());
    assert!(skipped.json["pageInfo"].get("nextCursor").is_some());
    let past_the_end = get(&f, "/entities/by-query?filter=kind=component&offset=10").await;
    assert_eq!(past_the_end.names(), Vec::<String>::new());
    assert_eq!(past_the_end.json["totalItems"], 4);
    let uncounted = get(
        &f,
        "/entities/by-query?filter=kind=component&totalItems=exclude",
    )
    .await;
    assert_eq!(uncounted.names().len(), 4);
    assert_eq!(uncounted.json["totalItems"], 0);
    let count_only = get(&f, "/entities/by-query?filter=kind=component&limit=0").await;
    assert_eq!(count_only.names().len(), 0);
    assert_eq!(count_only.json["totalItems"], 4);
    assert_eq!(count_only.json["pageInfo"], json!({}));
}

#[tokio::test]
async fn absurdly_large_limits_and_offsets_are_no_more_than_everything() {
    let f = fixture();
    let huge = u64::MAX;
    let after = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{{\"limit\":{huge},\"offset\":{huge}}}"),
    );
    let window = get(&f, &format!("/entities?after={after}")).await;
    assert_eq!(window.status, StatusCode::OK, "{}", window.text);
    assert_eq!(window.json, json!([]));
    let everything = get(&f, &format!("/entities?limit={}", i64::MAX)).await;
    assert_eq!(everything.names().len(), 10);
    let page = post(
        &f,
        "/entities/by-query",
        json!({"limit": huge, "offset": huge}),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.json["totalItems"], 10);
    let page = post(&f, "/entities/by-query", json!({"limit": huge})).await;
    assert_eq!(page.names().len(), 10);
}

#[tokio::test]
async fn refuses_query_parameters_it_cannot_read_saying_which() {
    let f = fixture();
    for (query, says) in [
        ("limit=-5", "Invalid limit, must be zero or greater"),
        ("limit=1&limit=2", "Invalid limit"),
        ("cursor=not-a-cursor", "Malformed cursor"),
        ("orderField=metadata.name,sideways", "sideways"),
        ("filter=,=x", "Invalid filter"),
        ("totalItems=maybe", "Invalid totalItems parameter \"maybe\""),
    ] {
        assert_input_error(&get(&f, &format!("/entities/by-query?{query}")).await, says);
    }
}

#[tokio::test]
async fn queries_by_predicate_in_a_json_body() {
    let f = fixture();
    let websites = post(
        &f,
        "/entities/by-query",
        json!({
            "query": {"$all": [{"kind": "component"}, {"spec.type": {"$in": ["website"]}}]},
            "fields": ["metadata.name"],
        }),
    )
    .await;
    assert_eq!(websites.status, StatusCode::OK, "{}", websites.text);
    assert_eq!(
        websites.json["items"],
        json!([{"metadata": {"name": "cart"}}])
    );
    let first = post(
        &f,
        "/entities/by-query",
        json!({"query": {"kind": "component"}, "limit": 2, "orderBy": [{"field": "metadata.name", "order": "desc"}]}),
    )
    .await;
    assert_eq!(first.names(), ["search", "checkout"]);
    let cursor = first.json["pageInfo"]["nextCursor"].clone();
    let second = post(
        &f,
        "/entities/by-query",
        json!({"cursor": cursor, "limit": 2}),
    )
    .await;
    assert_eq!(second.names(), ["cart", "billing"]);
    assert_input_error(
        &post(
            &f,
            "/entities/by-query",
            json!({"query": {"metadata.name": {"$hasPrefix": "c"}}}),
        )
        .await,
        "$hasPrefix",
    );
}

// ---- one entity ----

#[tokio::test]
async fn finds_an_entity_by_name_in_any_case_with_its_relations() {
    let f = fixture();
    let reply = get(&f, "/entities/by-name/Component/Default/CHECKOUT").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["metadata"]["name"], "checkout");
    let relations = reply.json["relations"].as_array().expect("relations");
    assert!(
        relations.contains(&json!({"type": "ownedBy", "targetRef": "group:default/team-a"})),
        "{relations:?}"
    );
    assert_not_found(
        &get(&f, "/entities/by-name/component/default/nope").await,
        "No entity named 'nope' found, with kind 'component' in namespace 'default'",
    );
}

#[tokio::test]
async fn gets_and_deletes_an_entity_by_uid() {
    let f = fixture();
    let checkout = get(&f, "/entities/by-name/component/default/checkout").await;
    let uid = checkout.json["metadata"]["uid"]
        .as_str()
        .expect("a uid")
        .to_owned();
    assert_eq!(
        get(&f, &format!("/entities/by-uid/{uid}")).await.json,
        checkout.json
    );
    let unmarked = send(
        &f,
        Request::delete(format!("/api/catalog/entities/by-uid/{uid}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_input_error(&unmarked, "Content-Type missing");
    assert_eq!(
        delete(&f, &format!("/entities/by-uid/{uid}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_not_found(
        &get(&f, &format!("/entities/by-uid/{uid}")).await,
        &format!("No entity with uid {uid}"),
    );
    assert_eq!(
        delete(&f, &format!("/entities/by-uid/{uid}")).await.status,
        StatusCode::NO_CONTENT,
        "deleting what is gone is no error, as in Backstage"
    );
}

#[tokio::test]
async fn gives_an_entitys_ancestry_up_to_its_location() {
    let f = fixture();
    let reply = get(&f, "/entities/by-name/component/default/checkout/ancestry").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["rootEntityRef"], "component:default/checkout");
    let items = reply.json["items"].as_array().expect("items");
    assert_eq!(items[0]["entity"]["metadata"]["name"], "checkout");
    let parent = items[0]["parentEntityRefs"][0].as_str().expect("a parent");
    assert!(
        parent.starts_with("location:default/generated-"),
        "{parent}"
    );
    assert_eq!(items[1]["entity"]["kind"], "Location");
    assert_eq!(items[1]["parentEntityRefs"], json!([]));
    assert_not_found(
        &get(&f, "/entities/by-name/component/default/nope/ancestry").await,
        "No such entity component:default/nope",
    );
}

#[test]
fn ancestry_keeps_only_what_the_restriction_shows() {
    let f = fixture();
    let store = f.catalog.store();
    let items = || {
        store
            .ancestry("component:default/checkout")
            .expect("ancestry")
    };
    let components = Predicate::field("kind", &["component"]);
    let kept = super::entities::only_visible(store, items(), Some(&components)).expect("reads");
    assert_eq!(kept.len(), 1, "the Location above it is hidden");
    let apis = Predicate::field("kind", &["api"]);
    let hidden = super::entities::only_visible(store, items(), Some(&apis)).expect("reads");
    assert!(hidden.is_empty(), "a hidden entity has no ancestry to show");
}

// ---- batches and facets ----

#[tokio::test]
async fn fetches_entities_by_reference_in_order_with_null_for_the_missing() {
    let f = fixture();
    let body = json!({
        "entityRefs": ["component:default/checkout", "component:default/nope", "api:default/checkout-api"],
        "fields": ["kind", "metadata.name"],
    });
    let reply = post(&f, "/entities/by-refs", body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!({"items": [
            {"kind": "Component", "metadata": {"name": "checkout"}},
            null,
            {"kind": "API", "metadata": {"name": "checkout-api"}},
        ]})
    );
    let apis_only = post(&f, "/entities/by-refs?filter=kind=api", body).await;
    assert_eq!(apis_only.json["items"][0], Value::Null);
    assert_eq!(
        apis_only.json["items"][2]["metadata"]["name"],
        "checkout-api"
    );
    assert_input_error(
        &post(&f, "/entities/by-refs", json!({"entityRefs": "x"})).await,
        "Malformed request",
    );
}

#[tokio::test]
async fn counts_facets_of_the_matching_entities() {
    let f = fixture();
    let reply = get(
        &f,
        "/entity-facets?facet=kind&facet=spec.lifecycle&filter=kind=component",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json,
        json!({"facets": {
            "kind": [{"value": "Component", "count": 4}],
            "spec.lifecycle": [{"value": "production", "count": 3}, {"value": "experimental", "count": 1}],
        }})
    );
    assert_input_error(
        &get(&f, "/entity-facets?filter=kind=component").await,
        "Missing facet parameter",
    );
    let tags = post(
        &f,
        "/entity-facets",
        json!({"facets": ["metadata.tags"], "query": {"kind": "component"}}),
    )
    .await;
    assert_eq!(
        tags.json,
        json!({"facets": {"metadata.tags": [{"value": "java", "count": 2}, {"value": "react", "count": 1}]}})
    );
    assert_input_error(
        &post(&f, "/entity-facets", json!({"facets": []})).await,
        "Missing or empty facets",
    );
}

// ---- refresh and validation ----

#[tokio::test]
async fn refresh_reads_the_entitys_location_again() {
    let f = fixture();
    std::fs::write(
        f.root.join("catalog-info.yaml"),
        CATALOG.replace("Takes the money", "Takes all the money"),
    )
    .expect("edited");
    let reply = post(
        &f,
        "/refresh",
        json!({"entityRef": "component:default/checkout"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.text, "");
    let checkout = get(&f, "/entities/by-name/component/default/checkout").await;
    assert_eq!(
        checkout.json["metadata"]["description"],
        "Takes all the money"
    );
    assert_not_found(
        &post(
            &f,
            "/refresh",
            json!({"entityRef": "component:default/nope"}),
        )
        .await,
        "component:default/nope",
    );
    assert_input_error(
        &post(&f, "/refresh", json!({})).await,
        "missing field `entityRef`",
    );
}

#[tokio::test]
async fn validates_an_entity_without_storing_it() {
    let f = fixture();
    let entity = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "fresh"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
    });
    let location = "url:https://example.com/catalog-info.yaml";
    let valid = post(
        &f,
        "/validate-entity",
        json!({"entity": entity, "location": location}),
    )
    .await;
    assert_eq!(valid.status, StatusCode::OK, "{}", valid.text);
    assert_not_found(
        &get(&f, "/entities/by-name/component/default/fresh").await,
        "fresh",
    );

    let mut broken = entity.clone();
    broken["metadata"]["name"] = json!("Not A Name!");
    let invalid = post(
        &f,
        "/validate-entity",
        json!({"entity": broken, "location": location}),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.json["errors"][0]["name"], "InputError");
    assert!(
        invalid.json["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("metadata.name"),
        "{}",
        invalid.text
    );
    let file = post(
        &f,
        "/validate-entity",
        json!({"entity": entity, "location": "file:/x.yaml"}),
    )
    .await;
    assert_eq!(file.status, StatusCode::BAD_REQUEST);
    assert_eq!(file.json["errors"][0]["name"], "TypeError");
    assert!(
        file.text.contains("only 'url:<target>' is supported"),
        "{}",
        file.text
    );
    let malformed = post(&f, "/validate-entity", json!({"entity": entity})).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.text.contains("missing field `location`"),
        "{}",
        malformed.text
    );
}

// ---- locations ----

#[tokio::test]
async fn lists_and_finds_locations_and_the_location_of_an_entity() {
    let f = fixture();
    let list = get(&f, "/locations").await;
    assert_eq!(list.status, StatusCode::OK);
    let location = list.json[0]["data"].clone();
    assert_eq!(location["type"], "file");
    assert_eq!(location["target"], location_file(&f));
    assert!(
        location["entityRef"]
            .as_str()
            .expect("ref")
            .starts_with("location:default/generated-"),
        "{location}"
    );
    let id = location["id"].as_str().expect("id");
    assert_eq!(get(&f, &format!("/locations/{id}")).await.json, location);
    assert_not_found(
        &get(&f, "/locations/nope").await,
        "Found no location with ID nope",
    );
    assert_eq!(
        get(&f, "/locations/by-entity/component/default/checkout")
            .await
            .json,
        location
    );
    assert_not_found(
        &get(&f, "/locations/by-entity/component/default/nope").await,
        "found no entity for ref component:default/nope",
    );
}

#[tokio::test]
async fn registers_a_location_after_a_dry_run_and_removes_it() {
    let f = fixture();
    let extra = f.root.join("extra.yaml");
    std::fs::write(
        &extra,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: extra\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .expect("written");
    let target = extra.to_string_lossy().into_owned();
    let input = json!({"type": "file", "target": target});

    let dry = post(&f, "/locations?dryRun=true", input.clone()).await;
    assert_eq!(dry.status, StatusCode::CREATED, "{}", dry.text);
    assert_eq!(dry.json["exists"], false);
    assert_eq!(dry.json["location"]["id"], format!("file:{target}"));
    let read = names(&dry.json["entities"]);
    assert!(
        read[0].starts_with("generated-"),
        "the location's own entity first: {read:?}"
    );
    assert_eq!(read[1..], ["extra"]);
    assert_not_found(
        &get(&f, "/entities/by-name/component/default/extra").await,
        "extra",
    );

    let created = post(&f, "/locations", input.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.json["entities"], json!([]));
    let id = created.json["location"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        get(&f, "/entities/by-name/component/default/extra")
            .await
            .status,
        StatusCode::OK
    );

    let again = post(&f, "/locations", input.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.json["error"]["name"], "ConflictError");
    let refreshed = post(&f, "/locations?onConflict=refresh", input.clone()).await;
    assert_eq!(refreshed.status, StatusCode::CREATED, "{}", refreshed.text);
    assert_eq!(refreshed.json["location"]["id"], id);
    assert_eq!(
        post(&f, "/locations?dryRun=true", input).await.json["exists"],
        true
    );

    assert_eq!(
        delete(&f, &format!("/locations/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_not_found(
        &get(&f, "/entities/by-name/component/default/extra").await,
        "extra",
    );
    assert_not_found(
        &delete(&f, &format!("/locations/{id}")).await,
        "Found no location",
    );
}

#[tokio::test]
async fn refuses_locations_it_cannot_register_saying_why() {
    let f = fixture();
    let target = location_file(&f);
    for (uri, body, says) in [
        (
            "/locations",
            json!({"type": "plugin", "target": "x"}),
            "allowed type",
        ),
        (
            "/locations",
            json!({"type": "file", "target": target, "owner": "x"}),
            "unknown field `owner`",
        ),
        (
            "/locations",
            json!({"type": "url", "target": "not a url"}),
            "is not a URL",
        ),
        (
            "/locations?dryRun=ture",
            json!({"type": "file", "target": target}),
            "Invalid dryRun \"ture\"",
        ),
        (
            "/locations?onConflict=merge",
            json!({"type": "file", "target": target}),
            "Invalid onConflict",
        ),
    ] {
        assert_input_error(&post(&f, uri, body).await, says);
    }
    let broken = f.root.join("broken.yaml");
    std::fs::write(
        &broken,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Not A Name!\n",
    )
    .expect("written");
    let dry = post(
        &f,
        "/locations?dryRun=true",
        json!({"type": "file", "target": broken}),
    )
    .await;
    assert_input_error(&dry, "broken.yaml");
}

#[tokio::test]
async fn analyzes_a_location_before_it_is_registered() {
    let f = fixture();
    let existing = post(
        &f,
        "/analyze-location",
        json!({"location": {"type": "file", "target": location_file(&f)}}),
    )
    .await;
    assert_eq!(existing.status, StatusCode::OK, "{}", existing.text);
    let files = existing.json["existingEntityFiles"]
        .as_array()
        .expect("files");
    assert_eq!(files.len(), 9);
    assert_eq!(files[0]["isRegistered"], true);
    assert_eq!(
        files[0]["location"],
        json!({"type": "file", "target": location_file(&f)})
    );
    assert_eq!(existing.json["generateEntities"], json!([]));

    let empty = f.root.join("new-service");
    let fresh = post(
        &f,
        "/analyze-location",
        json!({"location": {"type": "file", "target": empty}}),
    )
    .await;
    assert_eq!(fresh.json["existingEntityFiles"], json!([]));
    assert_eq!(
        fresh.json["generateEntities"][0]["entity"]["metadata"]["name"],
        "new-service"
    );
    assert_eq!(
        fresh.json["generateEntities"][0]["entity"]["kind"],
        "Component"
    );
}

// ---- across the API ----

#[tokio::test]
async fn writes_must_be_declared_as_json() {
    let f = fixture();
    for content_type in ["application/x-www-form-urlencoded", "text/plain"] {
        let reply = send(
            &f,
            Request::post("/api/catalog/locations")
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(
                    json!({"type": "file", "target": location_file(&f)}).to_string(),
                ))
                .expect("request"),
        )
        .await;
        assert_input_error(&reply, "Illegal Content-Type");
    }
    let bare = send(
        &f,
        Request::post("/api/catalog/refresh")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_input_error(&bare, "Content-Type missing");
}

#[tokio::test]
async fn every_route_refuses_an_unidentified_caller() {
    let f = fixture_with(false);
    for (path, methods) in ROUTES {
        let path = path.replace(['{', '}'], "");
        for method in *methods {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            let reply = write(&f, method.clone(), &path, Some(json!({}))).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {}",
                reply.text
            );
            assert_eq!(reply.json["error"]["name"], "AuthenticationError");
        }
    }
}

#[tokio::test]
async fn errors_name_the_request_as_backstage_does() {
    let f = fixture();
    let reply = get(&f, "/entities/by-uid/nope?x=1").await;
    assert_eq!(
        reply.json,
        json!({
            "error": {"name": "NotFoundError", "message": "No entity with uid nope"},
            "request": {"method": "GET", "url": "/api/catalog/entities/by-uid/nope?x=1"},
            "response": {"statusCode": 404},
        })
    );
    let wrong_method = write(&f, Method::PUT, "/entities", None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.json["error"]["name"], "NotAllowedError");
}

#[tokio::test]
async fn the_openapi_document_is_served_and_describes_every_route() {
    let f = fixture();
    let reply = get(&f, "/openapi.yaml").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/yaml");
    let documents = greenroom_catalog::parse_documents(&reply.text).expect("the document is YAML");
    let spec = &documents[0].value;
    assert!(
        spec["openapi"]
            .as_str()
            .expect("a version")
            .starts_with("3.0")
    );
    let paths = spec["paths"].as_object().expect("paths");
    for (path, methods) in ROUTES {
        for method in *methods {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is registered but not in docs/openapi/catalog.yaml"
            );
        }
    }
    let mut refs = Vec::new();
    collect_refs(spec, &mut refs);
    for target in refs {
        let pointer = target.strip_prefix('#').expect("a local $ref");
        assert!(
            spec.pointer(pointer).is_some(),
            "$ref {target} points nowhere"
        );
    }
    for (path, operations) in paths {
        let registered = ROUTES.iter().find(|(p, _)| p == path);
        let registered =
            registered.unwrap_or_else(|| panic!("{path} is documented but not registered"));
        for method in operations.as_object().expect("operations").keys() {
            if method != "parameters" {
                assert!(
                    registered.1.contains(&method.as_str()),
                    "{method} {path} is documented but not registered"
                );
            }
        }
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// RBAC: a user allowed to read only what team-b owns, and groups, sees
/// only those in every list, count, facet and lookup — filtered in SQL —
/// and cannot register a location without `catalog.location.create`.
#[tokio::test]
async fn rbac_conditions_filter_every_read_and_refuse_writes() {
    use greenroom_access::rbac::{PolicyDocument, Rbac};
    let f = fixture();
    let policy = "default-role: viewer\nroles:\n  - name: viewer\n    policies:\n      - permission: catalog.entity.read\n        effect: allow\n        conditions:\n          anyOf:\n            - rule: IS_ENTITY_OWNER\n              params: { claims: [group:default/team-b] }\n            - rule: IS_ENTITY_KIND\n              params: { kinds: [group] }\n";
    let known = Rbac::fixed(PolicyDocument::default(), Vec::new()).known_permissions();
    let document = PolicyDocument::from_yaml(policy, "policy.yaml", &known).expect("valid");
    let f = f.with_rbac(Rbac::fixed(document, Vec::new()));

    let mut all = get(&f, "/entities?fields=metadata.name").await.names();
    all.sort();
    assert_eq!(all, ["billing", "search", "team-a", "team-b"]);
    let query = get(&f, "/entities/by-query?filter=kind=component").await;
    assert_eq!(query.json["totalItems"], 2, "{}", query.text);
    assert_not_found(
        &get(&f, "/entities/by-name/component/default/checkout").await,
        "checkout",
    );
    assert_eq!(
        get(&f, "/entities/by-name/component/default/billing")
            .await
            .status,
        StatusCode::OK
    );
    let facets = get(&f, "/entity-facets?facet=kind").await;
    let kinds: Vec<(String, u64)> = facets.json["facets"]["kind"]
        .as_array()
        .expect("facets")
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_owned(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("Component".to_owned(), 2), ("Group".to_owned(), 2)]
    );

    let refused = post(
        &f,
        "/locations",
        json!({ "type": "file", "target": location_file(&f) }),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(
        refused.message().contains("catalog.location.create"),
        "{}",
        refused.text
    );
}

/// Every relation target in `value` (an entity, a list of them, a page or
/// an ancestry), lower-cased.
fn relation_targets(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(relations)) = map.get("relations") {
                    out.extend(
                        relations
                            .iter()
                            .filter_map(|r| r["targetRef"].as_str())
                            .map(str::to_lowercase),
                    );
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(value, &mut out);
    out.sort();
    out.dedup();
    out
}

/// RBAC: a reader allowed only components and APIs never learns the name
/// of a team or system through a relation — in lookups, lists, pages of a
/// query, batches, ancestry or relation facets — while relations to what
/// they may read stay.
#[tokio::test]
async fn relations_never_name_an_entity_the_reader_may_not_see() {
    use greenroom_access::rbac::{PolicyDocument, Rbac};
    let f = fixture();
    let checkout = "/entities/by-name/component/default/checkout";
    // Unrestricted, checkout's relations name its team and its system.
    let before = relation_targets(&get(&f, checkout).await.json);
    assert!(
        before.contains(&"group:default/team-a".to_owned())
            && before.contains(&"system:default/shop".to_owned()),
        "{before:?}"
    );

    let policy = "default-role: viewer\nroles:\n  - name: viewer\n    policies:\n      - permission: catalog.entity.read\n        effect: allow\n        conditions:\n          rule: IS_ENTITY_KIND\n          params: { kinds: [component, api] }\n";
    let known = Rbac::fixed(PolicyDocument::default(), Vec::new()).known_permissions();
    let document = PolicyDocument::from_yaml(policy, "policy.yaml", &known).expect("valid");
    let f = f.with_rbac(Rbac::fixed(document, Vec::new()));

    let readable = |targets: &[String]| {
        targets
            .iter()
            .all(|t| t.starts_with("component:") || t.starts_with("api:"))
    };
    let one = get(&f, checkout).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let targets = relation_targets(&one.json);
    assert_eq!(targets, ["api:default/checkout-api"], "{}", one.text);
    for uri in [
        "/entities",
        "/entities/by-query?filter=kind=component,kind=api",
        "/entities/by-name/component/default/checkout/ancestry",
    ] {
        let reply = get(&f, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text);
        let targets = relation_targets(&reply.json);
        assert!(!targets.is_empty(), "{uri}: {}", reply.text);
        assert!(readable(&targets), "{uri}: {targets:?}");
        assert!(!reply.text.contains("location:"), "{uri}: {}", reply.text);
    }
    let batch = post(
        &f,
        "/entities/by-refs",
        json!({"entityRefs": ["component:default/checkout", "api:default/checkout-api"]}),
    )
    .await;
    assert!(readable(&relation_targets(&batch.json)), "{}", batch.text);
    // Relation facets count only targets the reader may see: every owner
    // here is a hidden group, and dependencies on an API stay.
    let facets = get(
        &f,
        "/entity-facets?facet=relations.ownedBy&facet=relations.providesApi",
    )
    .await;
    assert_eq!(
        facets.json,
        json!({"facets": {
            "relations.ownedBy": [],
            "relations.providesApi": [{"value": "api:default/checkout-api", "count": 1}],
        }}),
        "{}",
        facets.text
    );
}

// ---- limits on queries (issue 12, item 12) ----

#[tokio::test]
async fn queries_past_the_limits_are_refused_with_400_naming_the_limit() {
    let f = fixture();
    let filters = vec!["filter=kind=component"; 1_001].join("&");
    for uri in [
        format!("/entities?{filters}"),
        format!("/entities/by-query?{filters}"),
        format!("/entity-facets?facet=kind&{filters}"),
    ] {
        let reply = get(&f, &uri).await;
        assert_input_error(&reply, "more than 500 terms");
        assert_input_error(&reply, "the `filter` parameters");
    }
    let many = vec![json!({"kind": "component"}); 1_001];
    for operator in ["$any", "$all"] {
        let reply = post(
            &f,
            "/entities/by-query",
            json!({"query": {operator: many.clone()}}),
        )
        .await;
        assert_input_error(&reply, "more than 500 terms");
    }
    let values: Vec<String> = (0..40_000).map(|i| format!("c{i}")).collect();
    let reply = post(
        &f,
        "/entities/by-query",
        json!({"query": {"metadata.name": {"$in": values}}}),
    )
    .await;
    assert_input_error(&reply, "more than 10000 values");
    let mut nested = json!({"kind": "component"});
    for _ in 0..20 {
        nested = json!({"$not": nested});
    }
    let reply = post(&f, "/entities/by-query", json!({"query": nested})).await;
    assert_input_error(&reply, "deeper than 16 levels");

    let term = "a".repeat(60_000);
    let reply = get(&f, &format!("/entities/by-query?fullTextFilterTerm={term}")).await;
    assert_input_error(&reply, "more than the 1000 a term may be");
    let reply = post(
        &f,
        "/entities/by-query",
        json!({"fullTextFilter": {"term": term}}),
    )
    .await;
    assert_input_error(&reply, "more than the 1000 a term may be");

    // At the limits, the same queries answer.
    let filters = vec!["filter=kind=component"; 249].join("&");
    let reply = get(&f, &format!("/entities?{filters}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = post(
        &f,
        "/entities/by-query",
        json!({"query": {"$any": vec![json!({"kind": "component"}); 499]},
               "fullTextFilter": {"term": "p".repeat(1_000)}}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn an_entity_past_the_depth_budget_is_refused_by_validate_entity() {
    let f = fixture();
    // 100 levels: within serde_json's limit, past the catalog's 64.
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let entity = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "deep"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "deep": deep},
    });
    let reply = post(
        &f,
        "/validate-entity",
        json!({"entity": entity, "location": "url:https://example.com/c.yaml"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let message = reply.json["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("deeper than 64 levels"), "{}", reply.text);
}

/// The log lines written while it is alive, on this thread.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn every_server_error_is_logged_with_its_method_and_path_but_not_its_query() {
    let f = fixture();
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // A database that lost a table: the catalog cannot answer.
    f.catalog
        .store()
        .database()
        .connection()
        .expect("a connection")
        .execute_batch("DROP TABLE catalog_bodies")
        .expect("dropped");
    let reply = get(&f, "/entities?filter=metadata.name=secret-search").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let log = String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("utf-8");
    let line = log
        .lines()
        .find(|line| line.contains("answered 500"))
        .unwrap_or_else(|| panic!("no 5xx line in {log}"));
    assert!(line.contains("GET /api/catalog/entities"), "{line}");
    assert!(!log.contains("secret-search"), "{log}");
}
