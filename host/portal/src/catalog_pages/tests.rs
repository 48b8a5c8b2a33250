//! The catalog's pages, as a user sees them: a portal over a small
//! catalog read from YAML files in a temporary folder.

use crate::tests::{Portal, get, portal};
use axum::http::StatusCode;
use greenroom_catalog::LocationType;

/// A small organisation: a payments team that owns a service, an API, a
/// system and a domain; a web team; a department above both; two people.
/// `fx-api` and `resource:pay-db` are referred to but not described.
const ORG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: pay-service
  title: Pay Service
  description: Takes payments for orders.
  tags: [rust, tier-1]
  links:
    - url: https://wiki.example.com/pay
      title: Runbook
spec:
  type: service
  lifecycle: production
  owner: team-pay
  system: payments
  providesApis: [pay-api]
  consumesApis: [fx-api]
  dependsOn: [resource:pay-db]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: web-shop
  description: The storefront people buy from.
  tags: [typescript]
spec:
  type: website
  lifecycle: experimental
  owner: team-web
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  description: Double-entry bookkeeping for every payment.
spec:
  type: service
  lifecycle: deprecated
  owner: team-pay
  system: payments
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: bobs-tool
  description: A script Bob keeps for himself.
spec:
  type: tool
  lifecycle: experimental
  owner: user:bob
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: pay-api
  description: Pay for an order.
spec:
  type: openapi
  lifecycle: production
  owner: team-pay
  system: payments
  definition: |
    openapi: 3.0.3
    info:
      title: Pay API
      version: 1.2.0
    paths:
      /payments:
        post:
          summary: Take a payment
        get:
          summary: List payments
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: payments
spec:
  owner: team-pay
  domain: finance
---
apiVersion: backstage.io/v1alpha1
kind: Domain
metadata:
  name: finance
spec:
  owner: team-pay
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: engineering
spec:
  type: department
  children: [team-pay, team-web]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-pay
  description: Owns everything money.
spec:
  type: team
  profile:
    displayName: Payments Team
    email: pay@example.com
  parent: engineering
  children: []
  members: [ann]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-web
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  profile:
    displayName: Ann Example
    email: ann@example.com
  memberOf: [team-pay]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: bob
spec:
  profile:
    displayName: Bob Builder
  memberOf: [team-web]
"#;

/// A Location whose target holds one entity with an invalid name.
const LEGACY_LOCATION: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: legacy
spec:
  targets: [./legacy.yaml]
"#;

const LEGACY: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: "Legacy_Billing!"
spec:
  type: service
  lifecycle: deprecated
  owner: team-pay
"#;

/// A portal whose catalog has `files` (written to a temporary folder) and
/// reads the `locations` among them.
fn catalog_portal(files: &[(&str, &str)], locations: &[&str]) -> (Portal, tempfile::TempDir) {
    let portal = portal();
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("fixture written");
    }
    for location in locations {
        let path = dir.path().join(location);
        portal
            .state
            .catalog()
            .add_location(
                LocationType::File,
                path.to_str().expect("utf-8 path"),
                "test",
                false,
            )
            .expect("location registered");
    }
    (portal, dir)
}

fn org_portal() -> (Portal, tempfile::TempDir) {
    catalog_portal(&[("org.yaml", ORG)], &["org.yaml"])
}

/// The names in the table's name column, in order.
fn names(body: &str) -> Vec<String> {
    body.split("<td class=\"cell-name\"><a class=\"link\" href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.rsplit('/').next().unwrap_or_default().to_owned())
        .collect()
}

fn unescape(href: &str) -> String {
    href.replace("&amp;", "&")
}

/// The href of the first link with `rel`.
fn rel_link(body: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\"");
    let before = body
        .split(&marker)
        .next()
        .filter(|b| b.len() < body.len())?;
    let href = before.rsplit("href=\"").next()?.split('"').next()?;
    Some(unescape(href))
}

#[tokio::test]
async fn the_catalog_lists_components_by_default_with_links_to_their_pages() {
    let (portal, _dir) = org_portal();
    let page = get(&portal, "/catalog").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        names(&page.body),
        ["bobs-tool", "ledger", "pay-service", "web-shop"]
    );
    assert!(
        page.body
            .contains("href=\"/catalog/default/component/pay-service\">Pay Service</a>")
    );
    assert!(
        page.body.contains("<strong>4 components</strong>"),
        "the total is shown"
    );
    assert!(
        page.body
            .contains("href=\"/catalog/default/group/team-pay\">team-pay</a>"),
        "owners link to their pages"
    );
    assert!(
        page.body.contains("href=\"/catalog?kind=api\""),
        "other kinds are a click away"
    );
    assert!(
        page.body
            .contains("class=\"nav-link nav-current\" href=\"/catalog\"")
    );
}

#[tokio::test]
async fn facet_filters_narrow_the_table_and_count_the_values_left() {
    let (portal, _dir) = org_portal();
    let all = get(&portal, "/catalog?kind=component").await.body;
    assert!(
        all.contains("<option value=\"service\">service (2)</option>"),
        "{all}"
    );
    assert!(all.contains("<option value=\"group:default/team-pay\">team-pay (2)</option>"));
    let services = get(&portal, "/catalog?kind=component&type=service")
        .await
        .body;
    assert_eq!(names(&services), ["ledger", "pay-service"]);
    assert!(services.contains("<option value=\"service\" selected>service (2)</option>"));
    assert!(
        services.contains("<option value=\"group:default/team-pay\">team-pay (2)</option>")
            && !services.contains("team-web (1)"),
        "owner counts follow the type filter"
    );
    let web = get(
        &portal,
        "/catalog?kind=component&owner=group%3Adefault%2Fteam-web",
    )
    .await
    .body;
    assert_eq!(names(&web), ["web-shop"]);
    let tagged = get(
        &portal,
        "/catalog?kind=component&tag=rust&lifecycle=production",
    )
    .await
    .body;
    assert_eq!(names(&tagged), ["pay-service"]);
    let none = get(
        &portal,
        "/catalog?kind=component&type=service&lifecycle=experimental",
    )
    .await
    .body;
    assert!(none.contains("No components match these filters"), "{none}");
    assert!(none.contains("clear the filters"));
}

#[tokio::test]
async fn the_search_box_finds_entities_by_their_description_and_tags() {
    let (portal, _dir) = org_portal();
    let page = get(&portal, "/catalog?kind=component&q=bookkeeping")
        .await
        .body;
    assert_eq!(names(&page), ["ledger"]);
    assert!(
        page.contains("value=\"bookkeeping\""),
        "the box keeps the term"
    );
    let tagged = get(&portal, "/catalog?kind=component&q=typescript")
        .await
        .body;
    assert_eq!(names(&tagged), ["web-shop"]);
}

#[tokio::test]
async fn column_headers_sort_the_table_both_ways() {
    let (portal, _dir) = org_portal();
    let by_name = get(&portal, "/catalog").await.body;
    assert!(
        by_name.contains("aria-sort=\"ascending\"><a class=\"sort-link sort-current\" href=\"/catalog?kind=component&amp;sort=name&amp;dir=desc\""),
        "clicking the sorted column turns it round: {by_name}"
    );
    let descending = get(&portal, "/catalog?kind=component&sort=name&dir=desc")
        .await
        .body;
    assert_eq!(
        names(&descending),
        ["web-shop", "pay-service", "ledger", "bobs-tool"]
    );
    let by_lifecycle = get(&portal, "/catalog?kind=component&sort=lifecycle")
        .await
        .body;
    assert_eq!(
        names(&by_lifecycle),
        ["ledger", "bobs-tool", "web-shop", "pay-service"],
        "deprecated, experimental (by reference), production"
    );
}

#[tokio::test]
async fn pages_follow_the_stores_cursor_forwards_and_back() {
    let many: String = (0..30)
        .map(|i| {
            format!(
                "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-{i:02}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
            )
        })
        .collect();
    let (portal, _dir) = catalog_portal(&[("many.yaml", &many)], &["many.yaml"]);
    let first = get(&portal, "/catalog").await.body;
    assert_eq!(names(&first).len(), 25);
    assert!(
        first.contains("Showing <strong>1–25</strong> of <strong>30</strong>"),
        "{first}"
    );
    assert!(
        rel_link(&first, "prev").is_none(),
        "no page before the first"
    );
    let next = rel_link(&first, "next").expect("a next link");
    assert!(next.contains("cursor="), "{next}");
    let second = get(&portal, &next).await.body;
    assert_eq!(
        names(&second),
        ["svc-25", "svc-26", "svc-27", "svc-28", "svc-29"]
    );
    assert!(
        second.contains("Showing <strong>26–30</strong> of <strong>30</strong>"),
        "{second}"
    );
    assert!(
        rel_link(&second, "next").is_none(),
        "no page after the last"
    );
    let back = get(
        &portal,
        &rel_link(&second, "prev").expect("a previous link"),
    )
    .await
    .body;
    assert_eq!(names(&back).first().map(String::as_str), Some("svc-00"));
    let stale = get(&portal, &format!("{next}&type=website")).await.body;
    assert!(
        stale.contains("No components match"),
        "a cursor for other filters is dropped"
    );
}

#[tokio::test]
async fn an_empty_catalog_says_how_to_fill_it() {
    let page = get(&portal(), "/catalog").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("The catalog is empty"), "{}", page.body);
    assert!(page.body.contains("greenroom serve --demo"));
}

#[tokio::test]
async fn a_missing_entity_is_a_404_page_that_says_where_to_look() {
    let (portal, _dir) = org_portal();
    let reply = get(&portal, "/catalog/default/component/nope").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(
        reply
            .body
            .contains("The catalog has no component `default/nope`"),
        "{}",
        reply.body
    );
    assert_eq!(
        get(&portal, "/catalog/default/component/pay-service/nope")
            .await
            .status,
        StatusCode::NOT_FOUND,
        "nor a tab it does not have"
    );
    assert_eq!(
        get(&portal, "/catalog/default/component/pay-service/definition")
            .await
            .status,
        StatusCode::NOT_FOUND,
        "only APIs have a definition"
    );
}

#[tokio::test]
async fn a_component_page_shows_its_about_card_relations_and_graph() {
    let (portal, _dir) = org_portal();
    let reply = get(&portal, "/catalog/default/component/pay-service").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.body;
    assert!(body.contains("<h1 class=\"page-title\">Pay Service</h1>"));
    assert!(body.contains("Takes payments for orders."));
    assert!(body.contains(
        "Owned by <a class=\"link\" href=\"/catalog/default/group/team-pay\">Payments Team</a>"
    ));
    assert!(body.contains("<dt>System</dt><dd><a class=\"link\" href=\"/catalog/default/system/payments\">payments</a>"));
    assert!(
        body.contains("<dt>Domain</dt><dd><a class=\"link\" href=\"/catalog/default/domain/finance\">finance</a>"),
        "the domain comes through the system"
    );
    assert!(
        body.contains("href=\"https://wiki.example.com/pay\""),
        "web links are links"
    );
    assert!(body.contains("<span class=\"badge tone-success\">production</span>"));
    // Relations: existing targets link, missing ones say so.
    assert!(body.contains("<dt>Depends on</dt>"));
    assert!(body.contains(
        "<span class=\"missing-ref\" title=\"not in the catalog\">resource:pay-db</span>"
    ));
    assert!(!body.contains("href=\"/catalog/default/resource/pay-db\""));
    // APIs have their own cards.
    assert!(
        body.contains("Provided APIs") && body.contains("href=\"/catalog/default/api/pay-api\"")
    );
    assert!(body.contains("Consumed APIs") && body.contains("api:fx-api"));
    // The graph: an SVG whose neighbours link to their pages.
    let svg = body
        .split("<svg")
        .nth(1)
        .expect("a relations graph")
        .split("</svg>")
        .next()
        .unwrap_or_default();
    assert!(
        svg.contains("<a class=\"graph-node\" href=\"/catalog/default/api/pay-api\">"),
        "{svg}"
    );
    assert!(svg.contains("<a class=\"graph-node\" href=\"/catalog/default/group/team-pay\">"));
    assert!(
        svg.contains("class=\"graph-node graph-missing\""),
        "missing targets are drawn unlinked"
    );
    assert!(svg.contains("Consumes API · 1"));
}

#[tokio::test]
async fn view_source_links_to_the_repository_and_never_shows_the_servers_path() {
    let pay = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: pay
  annotations:
    backstage.io/source-location: url:https://github.com/acme/pay/tree/main/
spec: { type: service, lifecycle: production, owner: team-pay }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: ledger }
spec: { type: service, lifecycle: production, owner: team-pay }
";
    let (portal, dir) = catalog_portal(&[("services.yaml", pay)], &["services.yaml"]);
    let folder = dir.path().to_str().expect("utf-8 path");
    let page = get(&portal, "/catalog/default/component/pay").await.body;
    assert!(
        page.contains("href=\"https://github.com/acme/pay/tree/main/\"")
            && page.contains(">View source<"),
        "{page}"
    );
    let ledger = get(&portal, "/catalog/default/component/ledger").await.body;
    assert!(
        ledger.contains("<code class=\"source-path\">services.yaml</code>"),
        "{ledger}"
    );
    let about = ledger
        .split("Labels and annotations")
        .next()
        .unwrap_or_default();
    assert!(
        !about.contains(folder),
        "the server's folder is not shown: {about}"
    );
}

#[tokio::test]
async fn refresh_on_an_entity_page_reads_its_file_again_and_says_so() {
    let v1 = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: pay, description: First words. }
spec: { type: service, lifecycle: production, owner: team-pay }
";
    let (portal, dir) = catalog_portal(&[("pay.yaml", v1)], &["pay.yaml"]);
    let page = get(&portal, "/catalog/default/component/pay").await;
    assert!(page.body.contains("First words."), "{}", page.body);
    assert!(
        page.body
            .contains("action=\"/catalog/default/component/pay/refresh\""),
        "{}",
        page.body
    );
    std::fs::write(
        dir.path().join("pay.yaml"),
        v1.replace("First words.", "New words."),
    )
    .expect("file changed");
    let cookie = crate::tests::csrf_cookie(&page);
    let refreshed = crate::tests::post_form(
        &portal,
        "/catalog/default/component/pay/refresh",
        Some(&cookie),
        &format!("_csrf={cookie}"),
    )
    .await;
    assert_eq!(
        refreshed.status,
        StatusCode::SEE_OTHER,
        "{}",
        refreshed.body
    );
    assert_eq!(
        refreshed.headers["location"],
        "/catalog/default/component/pay"
    );
    let after = get(&portal, "/catalog/default/component/pay").await;
    assert!(after.body.contains("New words."), "{}", after.body);

    // Without the form's token nothing is read again.
    std::fs::write(
        dir.path().join("pay.yaml"),
        v1.replace("First words.", "Forged."),
    )
    .expect("file changed");
    let forged =
        crate::tests::post_form(&portal, "/catalog/default/component/pay/refresh", None, "").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let after = get(&portal, "/catalog/default/component/pay").await;
    assert!(!after.body.contains("Forged."), "{}", after.body);
}

#[tokio::test]
async fn unregistering_an_entity_removes_its_location_once_confirmed() {
    let (portal, _dir) = org_portal();
    let page = get(&portal, "/catalog/default/component/pay-service").await;
    assert!(
        page.body
            .contains("href=\"/catalog/default/component/pay-service/unregister\""),
        "{}",
        page.body
    );
    let confirm = get(&portal, "/catalog/default/component/pay-service/unregister").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(
        confirm
            .body
            .contains("Unregistering removes that location and all"),
        "{}",
        confirm.body
    );
    let cookie = crate::tests::csrf_cookie(&confirm);
    async fn post(portal: &Portal, cookie: &str, form: String) -> crate::tests::Reply {
        crate::tests::post_form(
            portal,
            "/catalog/default/component/pay-service/unregister",
            Some(cookie),
            &form,
        )
        .await
    }
    let unconfirmed = post(&portal, &cookie, format!("_csrf={cookie}")).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(
        unconfirmed.body.contains("tick the box"),
        "{}",
        unconfirmed.body
    );
    assert_eq!(
        get(&portal, "/catalog/default/component/pay-service")
            .await
            .status,
        StatusCode::OK
    );

    // Someone who may read the catalog but not delete locations is offered
    // nothing, and refused.
    let portal = with_policy(portal, COMPONENTS_APIS_AND_GROUPS);
    let page = get(&portal, "/catalog/default/component/pay-service").await;
    assert!(!page.body.contains("/unregister"), "{}", page.body);
    let refused = post(&portal, &cookie, format!("_csrf={cookie}&confirm=yes")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        get(&portal, "/catalog/default/component/pay-service")
            .await
            .status,
        StatusCode::OK
    );
    let portal = with_policy(
        portal,
        &format!(
            "{COMPONENTS_APIS_AND_GROUPS}      - permission: catalog.location.delete\n        effect: allow\n"
        ),
    );

    let done = post(&portal, &cookie, format!("_csrf={cookie}&confirm=yes")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.headers["location"], "/catalog");
    assert_eq!(
        get(&portal, "/catalog/default/component/pay-service")
            .await
            .status,
        StatusCode::NOT_FOUND,
        "gone with its location"
    );
}

#[tokio::test]
async fn the_hello_plugins_entity_card_is_drawn_on_entity_pages() {
    let (portal, _dir) = org_portal();
    let body = get(&portal, "/catalog/default/component/pay-service")
        .await
        .body;
    assert!(
        body.contains("<section class=\"slot slot-widget\" aria-label=\"Hello\">"),
        "{body}"
    );
    assert!(
        body.contains("Hello from pay-service"),
        "hello was given the entity: {body}"
    );
}

#[tokio::test]
async fn an_api_page_shows_who_provides_it_and_its_definition_tab_lists_operations() {
    let (portal, _dir) = org_portal();
    let overview = get(&portal, "/catalog/default/api/pay-api").await.body;
    assert!(
        overview.contains("Providers")
            && overview.contains("href=\"/catalog/default/component/pay-service\"")
    );
    assert!(
        overview.contains("href=\"/catalog/default/api/pay-api/definition\""),
        "a Definition tab"
    );
    let definition = get(&portal, "/catalog/default/api/pay-api/definition").await;
    assert_eq!(definition.status, StatusCode::OK);
    assert!(
        definition.body.contains("<code>/payments</code>"),
        "{}",
        definition.body
    );
    assert!(definition.body.contains(">POST</span>") && definition.body.contains("Take a payment"));
    assert!(
        definition.body.contains("openapi: 3.0.3"),
        "the definition itself is shown"
    );
    assert!(
        definition
            .body
            .contains("aria-current=\"page\">Definition</a>")
    );
}

#[tokio::test]
async fn a_group_page_lists_its_members_child_groups_and_what_it_owns() {
    let (portal, _dir) = org_portal();
    let team = get(&portal, "/catalog/default/group/team-pay").await.body;
    assert!(team.contains("<h1 class=\"page-title\">Payments Team</h1>"));
    assert!(team.contains("Members"));
    assert!(
        team.contains("href=\"/catalog/default/user/ann\">Ann Example</a>"),
        "{team}"
    );
    assert!(team.contains("href=\"mailto:ann@example.com\""));
    assert!(team.contains(
        "<dt>Parent group</dt><dd><a class=\"link\" href=\"/catalog/default/group/engineering\">"
    ));
    assert!(team.contains("Owned by this group"));
    for owned in [
        "component/pay-service",
        "component/ledger",
        "api/pay-api",
        "system/payments",
        "domain/finance",
    ] {
        assert!(
            team.contains(&format!("href=\"/catalog/default/{owned}\"")),
            "{owned}"
        );
    }
    assert!(!team.contains("href=\"/catalog/default/component/web-shop\""));
    let department = get(&portal, "/catalog/default/group/engineering")
        .await
        .body;
    assert!(department.contains("Child groups"));
    assert!(department.contains("href=\"/catalog/default/group/team-web\""));
    assert!(department.contains("This group has no members."));
}

#[tokio::test]
async fn a_user_page_lists_their_groups_and_what_they_and_their_groups_own() {
    let (portal, _dir) = org_portal();
    let bob = get(&portal, "/catalog/default/user/bob").await.body;
    assert!(bob.contains("<h1 class=\"page-title\">Bob Builder</h1>"));
    assert!(
        bob.contains("href=\"/catalog/default/group/team-web\""),
        "{bob}"
    );
    assert!(
        bob.contains("href=\"/catalog/default/component/bobs-tool\""),
        "what he owns"
    );
    assert!(
        bob.contains("href=\"/catalog/default/component/web-shop\""),
        "what his group owns"
    );
    assert!(!bob.contains("href=\"/catalog/default/component/ledger\""));
}

#[tokio::test]
async fn a_location_page_shows_the_problems_of_the_files_it_led_to() {
    let (portal, _dir) = catalog_portal(
        &[
            ("org.yaml", ORG),
            ("location.yaml", LEGACY_LOCATION),
            ("legacy.yaml", LEGACY),
        ],
        &["org.yaml", "location.yaml"],
    );
    let list = get(&portal, "/catalog").await.body;
    assert!(
        list.contains("<strong>1 problem in the catalog's files.</strong>"),
        "{list}"
    );
    assert!(list.contains("href=\"#problems\""));
    assert!(
        list.contains("Legacy_Billing!"),
        "the problem is listed: {list}"
    );
    assert!(
        list.contains("href=\"/catalog/default/location/legacy\""),
        "with where it shows"
    );
    let location = get(&portal, "/catalog/default/location/legacy").await.body;
    assert!(
        location.contains("Problems in the files this location led to"),
        "{location}"
    );
    assert!(location.contains("legacy.yaml") && location.contains("Legacy_Billing!"));
    assert!(
        location.contains("<code>./legacy.yaml</code>"),
        "its targets are listed"
    );
}

/// Entity data comes from YAML anyone can commit: nothing in it may
/// become markup or a script link.
const EVIL: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: evil
  title: "<script>alert('title')</script>"
  description: "<script>alert('description')</script><img src=x onerror=alert(1)>"
  annotations:
    example.com/note: "<script>alert('annotation')</script>"
  labels:
    team: evil
  links:
    - url: "javascript:alert(1)"
      title: "<b>Runbook</b>"
    - url: "data:text/html,<script>alert(1)</script>"
      title: Data
  tags: [evil]
spec:
  type: "<i>service</i>"
  lifecycle: "<b>production</b>"
  owner: team-evil
"#;

#[tokio::test]
async fn entity_data_is_escaped_and_script_links_are_never_drawn() {
    let (portal, _dir) = catalog_portal(&[("evil.yaml", EVIL)], &["evil.yaml"]);
    let entity = get(&portal, "/catalog/default/component/evil").await;
    let list = get(&portal, "/catalog?kind=component").await;
    for (page, reply) in [("entity page", &entity), ("catalog page", &list)] {
        assert_eq!(reply.status, StatusCode::OK, "{page}: {}", reply.body);
        let body = &reply.body;
        for markup in ["<script", "<img", "<b>", "<i>"] {
            assert!(!body.contains(markup), "{page} contains {markup}: {body}");
        }
        assert!(
            !body.to_lowercase().contains("href=\"javascript:"),
            "{page}"
        );
        assert!(!body.contains("href=\"data:"), "{page}");
        assert!(
            body.contains("&lt;script&gt;alert('title')&lt;/script&gt;"),
            "{page} shows the title as text"
        );
    }
    let body = &entity.body;
    assert!(
        body.contains("&lt;script&gt;alert('description')"),
        "description as text"
    );
    assert!(
        body.contains("&lt;script&gt;alert('annotation')"),
        "annotation as text"
    );
    assert!(
        body.contains("&lt;b&gt;Runbook&lt;/b&gt;"),
        "a refused link keeps its title as text"
    );
}

#[tokio::test]
async fn every_portal_link_on_the_catalog_pages_leads_somewhere() {
    let (portal, _dir) = org_portal();
    for page in [
        "/catalog",
        "/catalog?kind=group",
        "/catalog/default/component/pay-service",
        "/catalog/default/group/team-pay",
        "/catalog/default/user/ann",
    ] {
        let body = get(&portal, page).await.body;
        for href in body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|href| href.starts_with('/'))
        {
            let href = unescape(href);
            let href = href.split('#').next().unwrap_or_default();
            assert_eq!(
                get(&portal, href).await.status,
                StatusCode::OK,
                "{href}, linked from {page}"
            );
        }
    }
}

/// A user who may not read an entity gets the catalog's 404 for its page
/// and its plugin tabs, and no plugin is called with it; lists leave it
/// out.
#[tokio::test]
async fn an_entity_the_user_may_not_read_is_a_404_and_never_reaches_a_plugin() {
    use greenroom_access::rbac::{PolicyDocument, Rbac};
    let (portal, _dir) = org_portal();
    let policy = "default-role: viewer\nroles:\n  - name: viewer\n    policies:\n      - permission: catalog.entity.read\n        effect: allow\n        conditions:\n          rule: IS_ENTITY_OWNER\n          params: { claims: [group:default/team-web] }\n";
    let known = Rbac::fixed(PolicyDocument::default(), vec![]).known_permissions();
    let document = PolicyDocument::from_yaml(policy, "p", &known).expect("valid");
    let portal = portal.with_rbac(Rbac::fixed(document, vec![]));
    let hello = portal
        .state
        .plugins()
        .get("hello")
        .expect("hello is loaded");
    let calls = hello.health().calls;

    let hidden = get(&portal, "/catalog/default/component/pay-service").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(!hidden.body.contains("Pay Service"), "{}", hidden.body);
    let tab = get(
        &portal,
        "/catalog/default/component/pay-service/hello/about",
    )
    .await;
    assert_eq!(tab.status, StatusCode::NOT_FOUND);
    assert_eq!(
        hello.health().calls,
        calls,
        "hello was never called with it"
    );

    let list = get(&portal, "/catalog?kind=component").await.body;
    assert_eq!(names(&list), ["web-shop"]);
    let visible = get(&portal, "/catalog/default/component/web-shop").await;
    assert_eq!(visible.status, StatusCode::OK);
    assert!(
        hello.health().calls > calls,
        "the card of a visible entity is drawn"
    );
}

/// A plugin's form on an entity tab (Soundcheck's "Collect now", a manual
/// check) returns to the tab: its notice is shown there, once, like on
/// every other page a form returns to.
#[tokio::test]
async fn an_entity_page_shows_the_notice_of_the_form_that_led_to_it_once() {
    use axum::body::Body;
    use axum::http::Request;
    let (portal, _dir) = org_portal();
    // Plugin tabs are drawn by the same code as the host's own tabs.
    for page in [
        "/catalog/default/component/pay-service",
        "/catalog/default/api/pay-api/definition",
    ] {
        let reply = crate::tests::send(
            &portal,
            Request::get(page)
                .header(
                    "cookie",
                    "greenroom_notice=Recorded%20%E2%80%9Cit%E2%80%9D.",
                )
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        assert!(
            reply
                .body
                .contains("banner-notice\" role=\"status\">Recorded “it”.</div>"),
            "{page}: {}",
            reply.body
        );
        let cleared = reply.headers.get_all("set-cookie").iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.starts_with("greenroom_notice=") && v.contains("Max-Age=0"))
        });
        assert!(cleared, "{page}: shown once");
    }
}

/// `portal` under a policy whose only role, everyone's, has `policies`
/// (YAML list items).
fn with_policy(portal: Portal, policies: &str) -> Portal {
    use greenroom_access::rbac::{PolicyDocument, Rbac};
    let policy =
        format!("default-role: viewer\nroles:\n  - name: viewer\n    policies:\n{policies}");
    let known = Rbac::fixed(PolicyDocument::default(), vec![]).known_permissions();
    let document = PolicyDocument::from_yaml(&policy, "p", &known).expect("valid");
    portal.with_rbac(Rbac::fixed(document, vec![]))
}

/// Reads components, APIs and groups only: no system, domain, user or
/// resource.
const COMPONENTS_APIS_AND_GROUPS: &str = "      - permission: catalog.entity.read\n        effect: allow\n        conditions:\n          rule: IS_ENTITY_KIND\n          params: { kinds: [component, api, group] }\n";

/// `page` without the plugin slots in it (what the host draws itself): the
/// test portal's plugins decide on a policy of their own.
fn host_drawn(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    while let Some(start) = rest.find("<section class=\"slot") {
        out.push_str(&rest[..start]);
        let mut depth = 0usize;
        let mut at = start;
        loop {
            let open = rest[at + 1..].find("<section").map(|i| i + at + 1);
            let close = rest[at..].find("</section>").map(|i| i + at);
            match (open, close) {
                (Some(open), Some(close)) if open < close => {
                    depth += 1;
                    at = open;
                }
                (_, Some(close)) if depth > 0 => {
                    depth -= 1;
                    at = close + 1;
                }
                (_, Some(close)) => {
                    rest = &rest[close + "</section>".len()..];
                    break;
                }
                _ => return out,
            }
        }
    }
    out.push_str(rest);
    out
}

/// A reader who may not see an entity never meets its name through a
/// relation: not in the relations card, the graph, the about card, nor on
/// a group page's members.
#[tokio::test]
async fn entity_pages_never_name_a_related_entity_the_reader_may_not_see() {
    let (portal, _dir) = org_portal();
    let portal = with_policy(portal, COMPONENTS_APIS_AND_GROUPS);
    let page = get(&portal, "/catalog/default/component/pay-service").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = host_drawn(&page.body);
    assert!(body.contains("Relations graph"), "{body}");
    assert!(
        body.contains("href=\"/catalog/default/group/team-pay\""),
        "a readable owner is still named"
    );
    assert!(body.contains("href=\"/catalog/default/api/pay-api\""));
    for hidden in [
        "system/payments",
        "system:default/payments",
        "domain/finance",
        "finance",
    ] {
        assert!(!body.contains(hidden), "{hidden} is named: {body}");
    }
    let svg = body
        .split("<svg")
        .nth(1)
        .expect("a relations graph")
        .split("</svg>")
        .next()
        .unwrap_or_default();
    assert!(!svg.contains("payments"), "{svg}");

    let team = host_drawn(&get(&portal, "/catalog/default/group/team-pay").await.body);
    assert!(team.contains("<h1 class=\"page-title\">Payments Team</h1>"));
    assert!(team.contains("Members"), "{team}");
    for hidden in [
        "user/ann",
        "Ann Example",
        "ann@example.com",
        "system/payments",
    ] {
        assert!(!team.contains(hidden), "{hidden} is named: {team}");
    }
    assert!(
        team.contains("href=\"/catalog/default/group/engineering\""),
        "a readable parent group is still named"
    );
}

/// The catalog page lists the problems of the catalog's files — paths,
/// lines, values written — only to readers of catalog locations; everyone
/// else sees how many there are.
#[tokio::test]
async fn only_readers_of_locations_see_the_catalogs_problems() {
    let (portal, _dir) = catalog_portal(
        &[
            ("org.yaml", ORG),
            ("location.yaml", LEGACY_LOCATION),
            ("legacy.yaml", LEGACY),
        ],
        &["org.yaml", "location.yaml"],
    );
    let portal = with_policy(portal, COMPONENTS_APIS_AND_GROUPS);
    let list = get(&portal, "/catalog").await.body;
    assert!(
        list.contains("<strong>1 problem in the catalog's files.</strong>"),
        "{list}"
    );
    for detail in [
        "Legacy_Billing!",
        "legacy.yaml",
        "href=\"#problems\"",
        "id=\"problems\"",
    ] {
        assert!(!list.contains(detail), "{detail} is shown: {list}");
    }

    let portal = with_policy(
        portal,
        &format!(
            "{COMPONENTS_APIS_AND_GROUPS}      - permission: catalog.location.read\n        effect: allow\n"
        ),
    );
    let list = get(&portal, "/catalog").await.body;
    assert!(
        list.contains("Legacy_Billing!") && list.contains("href=\"#problems\""),
        "{list}"
    );
}
