use crate::support::Server;
use greenroom_artifacts as artifacts;

fn hostile_portal() -> Server {
    Server::with_test_plugins(
        "[limits]\nmemory = \"32 MiB\"\nrender-deadline = \"500ms\"",
        &[
            artifacts::TRAP_COMPONENT,
            artifacts::SPIN_COMPONENT,
            artifacts::HOG_COMPONENT,
            artifacts::XSS_COMPONENT,
        ],
    )
}

#[test]
fn each_hostile_plugin_fails_alone_and_the_page_still_renders() {
    let mut server = hostile_portal();
    let home = server.get("/");
    assert_eq!(home.status, 200, "{}", server.log());
    let body = &home.body;
    assert!(
        body.contains("Hello, Guest!"),
        "the well-behaved plugin is drawn:\n{body}"
    );
    assert!(
        body.contains("Test: trap could not be shown")
            && body.contains("boom: the trap plugin always panics"),
        "{body}"
    );
    assert!(
        body.contains("Test: spin could not be shown")
            && body.contains("did not finish within 500 ms"),
        "{body}"
    );
    assert!(
        body.contains("Test: hog could not be shown")
            && body.contains("more than its 32.0 MiB of memory"),
        "{body}"
    );
    assert!(
        !body.contains("<script>") && !body.contains("<img"),
        "the xss plugin's markup is escaped"
    );
    assert!(
        body.contains("&lt;script&gt;document.title="),
        "and shown as text"
    );
    assert!(
        !body.contains("href=\"javascript:") && !body.contains("href=\"data:"),
        "no script or data links"
    );
    assert_eq!(
        server.get("/healthz").status,
        200,
        "the server keeps serving"
    );
    assert!(server.is_running());
}

#[test]
fn failures_are_counted_on_each_plugins_health() {
    let server = hostile_portal();
    server.get("/");
    let plugins: serde_json::Value =
        serde_json::from_str(&server.get("/api/plugins").body).expect("JSON");
    let failures = |id: &str, kind: &str| {
        let plugin = plugins["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|p| p["id"] == id)
            .expect("plugin listed");
        plugin["health"]["failures"][kind]
            .as_u64()
            .expect("a count")
    };
    assert_eq!(failures("test-trap", "trap"), 1);
    assert_eq!(failures("test-spin", "deadline"), 1);
    assert_eq!(failures("test-hog", "memory"), 1);
    assert_eq!(failures("hello", "trap") + failures("hello", "deadline"), 0);
}

#[test]
fn concurrent_pages_with_hostile_plugins_all_complete() {
    let server = hostile_portal();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| server.get("/").status))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("request thread"))
            .collect()
    });
    assert_eq!(statuses, vec![200; 6]);
    let health: serde_json::Value =
        serde_json::from_str(&server.get("/api/plugins").body).expect("JSON");
    let hello = health["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["id"] == "hello")
        .expect("hello");
    assert_eq!(hello["health"]["calls"], 6, "every page drew hello");
}

#[test]
fn a_trapping_entity_card_fails_alone_and_the_entity_page_still_renders() {
    let catalog = tempfile::tempdir().expect("temp dir");
    let file = catalog.path().join("catalog-info.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: pay\n  description: Takes the money\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .expect("catalog written");
    let location = format!("[[catalog.locations]]\ntype = \"file\"\ntarget = {file:?}\n");
    let server = Server::with_test_plugins(&location, &[artifacts::TRAP_COMPONENT]);
    let page = server.wait_for("/catalog/default/component/pay");
    assert!(
        page.body.contains("Takes the money"),
        "the host's about card"
    );
    assert!(page.body.contains("Hello from pay"), "hello's card");
    assert!(
        page.body.contains("Test: trap card could not be shown")
            && page.body.contains("boom: the trap plugin always panics"),
        "{}",
        page.body
    );
}
