use crate::support::{Server, write_config};
use greenroom_artifacts as artifacts;

/// Hostile plugins granted nothing, beside hello.
fn hostile_portal() -> Server {
    Server::with_test_plugins(
        "[limits]\nmemory = \"32 MiB\"\nrender-deadline = \"500ms\"",
        &[
            artifacts::TRAP_COMPONENT,
            artifacts::SPIN_COMPONENT,
            artifacts::HOG_COMPONENT,
            artifacts::XSS_COMPONENT,
            artifacts::STACK_COMPONENT,
            artifacts::BIG_VIEW_COMPONENT,
            artifacts::CATALOG_HOSTILE_COMPONENT,
        ],
    )
}

/// The plugin's denials in the server's audit log, oldest first, as
/// (action, resource).
fn denials(server: &Server, plugin: &str) -> Vec<(String, Option<String>)> {
    let db = greenroom_store::Database::open(&server.data_dir.path().join("greenroom.db"))
        .expect("the database opens beside the server");
    let mut rows: Vec<_> = greenroom_access::AuditLog::new(db)
        .recent(Some(plugin), 100)
        .expect("the audit log reads")
        .into_iter()
        .map(|entry| (entry.action, entry.resource))
        .collect();
    rows.reverse();
    rows
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
        body.contains("Test: stack could not be shown") && body.contains("stack"),
        "{body}"
    );
    assert!(
        body.contains("Test: big view could not be shown")
            && body.contains("the view has 6001 nodes; the most is 5000"),
        "{body}"
    );
    assert!(
        body.contains("write Component: refused")
            && body.contains("write Group: refused")
            && body.contains("read: refused"),
        "the catalog plugin is refused every write and read, and still draws: {body}"
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
    assert_eq!(failures("test-stack", "trap"), 1);
    assert_eq!(failures("test-big-view", "invalid output"), 1);
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

#[test]
fn catalog_writes_and_reads_without_the_grant_are_audited() {
    let server = hostile_portal();
    assert_eq!(server.get("/").status, 200);
    let rows = denials(&server, "test-catalog-hostile");
    let expected = [
        ("catalog.write", Some("Component")),
        ("catalog.write", Some("Group")),
        ("catalog.read", None),
    ]
    .map(|(action, resource)| (action.to_owned(), resource.map(str::to_owned)));
    assert_eq!(rows, expected);
}

/// The `http-hostile` plugin granted everything it asks for, with a
/// credential for the fixture origin and one for api.github.com, 20
/// requests a call and 1 MiB a response.
fn http_portal() -> Server {
    crate::origin::start();
    let data_dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        data_dir.path().join("github-token"),
        "Bearer ghp_e2e_secret\n",
    )
    .expect("token written");
    let config = format!(
        r#"[auth]
guest = true

[[secrets]]
name = "origin"
host = "{origin}"
value = "{token}"
plugins = ["test-http-hostile"]

[[secrets]]
name = "github"
host = "api.github.com"
value-file = "github-token"
plugins = ["test-http-hostile"]

[[plugins]]
bundled = "hello"
grant = ["all"]

[[plugins]]
path = {component:?}
grant = ["all"]
# Its widget makes a dozen outbound requests in one render: a deadline
# that a loaded CI machine cannot trip, since this test is about where
# requests may go, not how long a render may take.
limits = {{ http-requests = 20, http-response-size = "1 MiB", render-deadline = "20s" }}
"#,
        origin = crate::origin::ORIGIN,
        token = crate::origin::ORIGIN_TOKEN,
        component = artifacts::HTTP_HOSTILE_COMPONENT,
    );
    let file = write_config(data_dir.path(), &config);
    let file = file.to_str().expect("utf-8 path").to_owned();
    Server::start_in(data_dir, &["--config", &file])
}

#[test]
fn outbound_http_goes_only_where_granted_and_every_denial_is_audited() {
    let mut server = http_portal();
    let home = server.get("/");
    assert_eq!(home.status, 200, "{}", server.log());
    let body = &home.body;
    assert!(body.contains("Hello, Guest!"), "the page renders: {body}");
    for line in [
        "granted: 200 hello from the origin",
        "ungranted: refused (HttpRequestDenied)",
        "loopback: refused (HttpRequestDenied)",
        "metadata: refused (HttpRequestDenied)",
        "private-name: refused (DestinationIpProhibited)",
        "redirect: 302 to http://169.254.169.254/latest/meta-data/, then refused (HttpRequestDenied)",
        "credential: 200 authorized",
        "credential-elsewhere: refused (HttpRequestDenied)",
        "credential-unknown: refused (HttpRequestDenied)",
        "oversized: 200 read at most 1048576 bytes, then failed (HTTP response body size exceeds limit: 1048576 bytes)",
        "flood: sent 9, then refused (ConnectionLimitReached)",
    ] {
        assert!(body.contains(line), "no `{line}` in\n{body}");
    }
    let api = server.get("/api/plugins/test-http-hostile/credential");
    assert_eq!(api.status, 200);
    assert!(api.body.contains("200 authorized"), "{}", api.body);
    assert_eq!(
        server.get("/healthz").status,
        200,
        "the server keeps serving"
    );
    assert!(server.is_running());

    let rows = denials(&server, "test-http-hostile");
    for expected in [
        ("http.request", "example.com"),
        ("http.request", "http://127.0.0.1:7007"),
        ("http.request", "http://169.254.169.254"),
        ("http.request", "http://localhost:27184"),
        ("http.credential", "github"),
        ("http.credential", "root"),
        ("http.response", "http://127.0.0.1:27184"),
        ("http.request", "http://127.0.0.1:27184"),
    ] {
        assert!(
            rows.iter().any(|(action, resource)| action == expected.0
                && resource.as_deref() == Some(expected.1)),
            "no {expected:?} in the audit log: {rows:#?}"
        );
    }
    let log = server.log();
    for secret in ["ghp_e2e_secret", "origin-token"] {
        assert!(!log.contains(secret), "a secret in the server's log");
        assert!(!body.contains(secret), "a secret on the page");
    }
}

#[test]
fn amplified_views_and_messages_are_refused_or_cut_and_a_refusal_loop_writes_a_few_audit_rows() {
    let mut server = Server::with_test_plugins(
        "[limits]\nmemory = \"32 MiB\"\nrender-deadline = \"20s\"",
        &[artifacts::AMPLIFY_COMPONENT],
    );
    let home = server.get("/");
    assert_eq!(home.status, 200, "{}", server.log());
    let body = &home.body;
    // An empty 2 000 × 2 000 table was 110 MiB of HTML and a chart with a
    // 32 KiB unit 125 MiB; an 8 MiB error message was shown whole.
    assert!(body.len() < 256 << 10, "the page is {} bytes", body.len());
    assert!(body.contains("Hello, Guest!"), "the page renders: {body}");
    assert!(
        body.contains("Test: amplify table could not be shown")
            && body.contains("tables have 4000000 cells"),
        "{body}"
    );
    assert!(
        body.contains("Test: amplify chart could not be shown") && body.contains("bytes of text"),
        "{body}"
    );
    assert!(
        body.contains("Test: amplify message could not be shown")
            && body.contains("amplified: mmm")
            && body.contains("bytes in all]"),
        "{body}"
    );
    assert!(body.contains("refused: 5008"), "{body}");
    let longest_line = server.log().lines().map(str::len).max().unwrap_or(0);
    assert!(
        longest_line < 16 << 10,
        "a log line of {longest_line} bytes"
    );

    // 5 008 refused calls in one view: the first distinct ones and one count.
    let rows = denials(&server, "test-amplify");
    assert_eq!(
        rows.len(),
        greenroom_broker::MAX_DENIALS_RECORDED_PER_CALL + 1,
        "{rows:?}"
    );
    assert_eq!(
        rows.last().map(|(action, _)| action.as_str()),
        Some(greenroom_broker::COALESCED_ACTION)
    );
    assert!(
        rows.iter()
            .all(|(_, resource)| resource.as_ref().is_none_or(|r| r.len() <= 512)),
        "an 8 MiB key is stored cut"
    );
    assert!(server.is_running());
}
