use crate::support::Server;

#[test]
fn the_demo_home_page_shows_the_hello_widget_and_its_counter_advances() {
    let server = Server::start(&["--demo"]);
    let first = server.get("/");
    assert_eq!(first.status, 200, "{}", server.log());
    assert!(
        first.body.contains("Hello, Guest!"),
        "the hello widget greets the guest:\n{}",
        first.body
    );
    assert!(
        first.body.contains(
            "<div class=\"stat-label\">Views of this widget</div><div class=\"stat-value\">1</div>"
        ),
        "{}",
        first.body
    );
    let second = server.get("/");
    assert!(
        second.body.contains("<div class=\"stat-value\">2</div>"),
        "storage keeps the count across calls:\n{}",
        second.body
    );
    assert!(
        server.log().contains("home widget seen 2 times"),
        "the plugin logs through the host"
    );
}

#[test]
fn the_demo_counter_survives_a_restart() {
    let first =
        Server::start_in_with_own_cache(tempfile::tempdir().expect("temp dir"), &["--demo"]);
    assert!(
        first
            .get("/")
            .body
            .contains("<div class=\"stat-value\">1</div>")
    );
    assert!(
        first.log().contains("compiled=true"),
        "a new data directory starts with an empty cache"
    );
    let second = Server::start_in_with_own_cache(first.stop(), &["--demo"]);
    assert!(
        second
            .get("/")
            .body
            .contains("<div class=\"stat-value\">2</div>"),
        "the count was kept in the data directory"
    );
    assert!(
        second.log().contains("compiled=false"),
        "the restart loaded hello from the compile cache:\n{}",
        second.log()
    );
}

#[test]
fn every_plugin_has_a_page_and_an_api_entry() {
    let server = Server::start(&["--demo"]);
    let page = server.get("/plugins/hello");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Sign the guestbook"),
        "hello's own page is drawn"
    );
    // Its capabilities are for operators (the demo's guest is an admin):
    // on its health page, linked from its own.
    assert!(
        !page.body.contains("storage (256.0 KiB)")
            && page.body.contains("href=\"/admin/plugins/hello/health\""),
        "{}",
        page.body
    );
    let details = server.get("/admin/plugins/hello/health");
    assert_eq!(details.status, 200);
    assert!(
        details.body.contains("storage (256.0 KiB)"),
        "its capabilities are shown to operators: {}",
        details.body
    );
    let api = server.get("/api/plugins");
    let json: serde_json::Value = serde_json::from_str(&api.body).expect("JSON");
    assert_eq!(json["items"][0]["id"], "hello");
    assert_eq!(server.get("/healthz").status, 200);
}
