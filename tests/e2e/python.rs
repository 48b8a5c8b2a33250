//! The plugin written in Python (`examples/hello-python`), built with
//! componentize-py against the same WIT as the Rust plugins, in the real
//! binary: the contract, not the Rust SDK, is the interface.

use crate::support::{Server, write_config};

const DEMO_CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/catalog/all.yaml");

const ENTITY_PAGE: &str = "/catalog/default/component/checkout-service";

/// A portal with the demo catalog and hello-python granted `grant`.
fn portal_with_python_plugin(grant: &str) -> Server {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[auth]\nguest = true\n\n[[catalog.locations]]\ntype = \"file\"\ntarget = {DEMO_CATALOG:?}\n\n\
         [[plugins]]\nbundled = \"hello-python\"\ngrant = [{grant}]\n"
    );
    let file = write_config(data_dir.path(), &config);
    let file = file.to_str().expect("utf-8 path").to_owned();
    Server::start_in(data_dir, &["--config", &file])
}

#[test]
fn the_python_plugin_draws_its_widget_and_answers_its_api() {
    let server = portal_with_python_plugin("\"storage\"");
    let home = server.get("/");
    assert_eq!(home.status, 200, "{}", server.log());
    assert!(
        home.body.contains("Hello, Guest!")
            && home.body.contains("Drawn by a plugin written in Python."),
        "the Python widget greets the guest:\n{}",
        home.body
    );
    assert!(
        home.body.contains(
            "<div class=\"stat-label\">Views of this widget</div><div class=\"stat-value\">1</div>"
        ),
        "it counts in its storage:\n{}",
        home.body
    );
    server.get("/");
    let api = server.get("/api/plugins/hello-python/views");
    assert_eq!(api.status, 200, "{}", api.body);
    let json: serde_json::Value = serde_json::from_str(&api.body).expect("JSON");
    assert_eq!(json, serde_json::json!({ "home": 2, "language": "python" }));
}

#[test]
fn the_python_plugin_is_denied_the_catalog_it_was_not_granted() {
    let server = portal_with_python_plugin("\"storage\"");
    let page = server.wait_for(ENTITY_PAGE);
    assert!(
        page.body.contains("checkout-service, from Python"),
        "the card is drawn:\n{}",
        page.body
    );
    assert!(
        page.body.contains(">denied<")
            && page
                .body
                .contains("capability catalog:read was not granted to plugin hello-python"),
        "the card shows the denial the broker returned:\n{}",
        page.body
    );
}

#[test]
fn the_demo_loads_the_python_plugin_with_the_catalog() {
    let server = Server::start(&["--demo"]);
    let page = server.wait_for(ENTITY_PAGE);
    assert!(
        page.body.contains("checkout-service, from Python")
            && page.body.contains("group:default/team-checkout owns"),
        "granted catalog:read, the card lists what the owner owns:\n{}",
        page.body
    );
    assert!(!page.body.contains(">denied<"), "{}", page.body);
}

#[test]
fn a_cold_start_serves_at_once_and_the_python_widget_follows_when_compiled() {
    // An empty compile cache: hello-python (a whole Python interpreter)
    // takes seconds to compile; the port opens and pages answer before.
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config =
        "[auth]\nguest = true\n\n[[plugins]]\nbundled = \"hello-python\"\ngrant = [\"storage\"]\n";
    let file = write_config(data_dir.path(), config);
    let file = file.to_str().expect("utf-8 path").to_owned();
    let server = Server::start_cold(data_dir, &["--config", &file]);
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 503, "still compiling: {}", ready.body);
    assert!(ready.body.contains("\"starting\":1"), "{}", ready.body);
    let home = server.get("/");
    assert_eq!(home.status, 200, "{}", server.log());
    assert!(
        home.body.contains("Hello from Python is starting"),
        "a starting card in the widget's place:\n{}",
        home.body
    );
    let api = server.get("/api/plugins/hello-python/views");
    assert_eq!(api.status, 503, "{}", api.body);
    assert_eq!(api.headers["retry-after"], "2");

    server.wait_until_ready();
    let home = server.get("/");
    assert!(
        home.body.contains("Drawn by a plugin written in Python."),
        "the widget, once compiled:\n{}",
        home.body
    );
}
