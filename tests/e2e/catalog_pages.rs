//! The catalog's pages over the demo organisation, in a real headless
//! Chromium: the table on `/catalog`, and an entity page with its
//! relations graph (inline SVG whose nodes are links) and hello's card.

use crate::browser::dump_dom;
use crate::support::Server;

#[test]
fn chromium_shows_the_catalog_table_and_an_entity_page_with_its_graph() {
    let server = Server::start(&["--demo"]);
    server.wait_for("/catalog/default/component/checkout-service");

    let list = dump_dom(&format!("{}/catalog", server.base));
    assert!(
        list.contains("<title>Catalog · Greenroom</title>"),
        "{list}"
    );
    assert!(
        list.contains("<table class=\"table catalog-table\">"),
        "the table is drawn:\n{list}"
    );
    assert!(
        list.contains("href=\"/catalog/default/component/checkout-service\""),
        "checkout-service is a row linking to its page:\n{list}"
    );
    assert!(
        list.contains("Legacy_Billing!"),
        "the broken demo entity is listed as a problem:\n{list}"
    );

    let page = dump_dom(&format!(
        "{}/catalog/default/component/checkout-service",
        server.base
    ));
    assert!(
        page.contains("<h1 class=\"page-title\">checkout-service</h1>"),
        "{page}"
    );
    let svg = page
        .split("<svg")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .unwrap_or_else(|| panic!("the relations graph is an inline SVG:\n{page}"));
    for neighbour in [
        "/catalog/default/api/checkout-api",
        "/catalog/default/group/team-checkout",
        "/catalog/default/system/storefront",
    ] {
        assert!(
            svg.contains(&format!("href=\"{neighbour}\"")),
            "the graph links to {neighbour}:\n{svg}"
        );
    }
    assert!(svg.contains("Consumes API · 8"), "{svg}");
    assert!(
        page.contains("Hello from checkout-service"),
        "hello's entity card is on the page:\n{page}"
    );

    let team = server.get("/catalog/default/group/team-checkout");
    assert!(
        team.body
            .contains("href=\"/catalog/default/user/priya.raman\">Priya Raman</a>"),
        "the group lists its members:\n{}",
        team.body
    );
    assert!(
        !team.body.contains("Hello from") && !team.body.contains("nobody yet"),
        "the examples' cards stay off a team's page (a team has no owner):\n{}",
        team.body
    );
}
