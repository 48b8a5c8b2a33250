//! The plugin health pages and the audit log as an admin uses them: real
//! (hostile) test plugins, one database for their denials, the audit log
//! and the suspensions, forms posted with the CSRF cookie the pages set.

use super::tests::{TOKEN, administer};
use crate::tests::{Portal, Reply, csrf_cookie, get, portal_with, post_form, send};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use greenroom_access::{AuditEvent, AuditLog, Decision};
use greenroom_artifacts as artifacts;
use greenroom_marketplace::{Builtins, Marketplace, TrustedPublishers};
use greenroom_runtime::CallKind;
use serde_json::Value;
use std::time::Duration;

/// A portal with administration serving hello and `test_plugins`, whose
/// marketplace works on the plugins' own database.
fn admin_portal(guest_access: bool, test_plugins: &[&str]) -> Portal {
    let portal = portal_with(guest_access, test_plugins);
    let data = portal.database();
    administer_over(portal, data)
}

/// Turns on `portal`'s administration over `data`'s database.
fn administer_over(portal: Portal, data: greenroom_store::Database) -> Portal {
    let plugins_dir = tempfile::tempdir().expect("temp dir");
    let marketplace = Marketplace::new(
        data,
        plugins_dir.path().join("plugins"),
        TrustedPublishers::default(),
        Vec::new(),
        Builtins::default(),
    );
    administer(portal, marketplace)
}

fn json(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

/// Posts one of the health page's buttons, with the token the page set.
async fn press(portal: &Portal, id: &str, button: &str) -> Reply {
    let page = format!("/admin/plugins/{id}/health");
    let token = csrf_cookie(&get(portal, &page).await);
    post_form(
        portal,
        &format!("{page}/{button}"),
        Some(&token),
        &format!("_csrf={token}"),
    )
    .await
}

fn calls(portal: &Portal, id: &str) -> u64 {
    portal
        .state
        .plugins()
        .get(id)
        .expect("loaded")
        .health()
        .calls
}

#[tokio::test]
async fn a_trapping_plugins_failures_and_last_error_are_on_its_health_page() {
    let portal = admin_portal(true, &[artifacts::TRAP_COMPONENT]);
    assert_eq!(get(&portal, "/").await.status, StatusCode::OK);

    let page = get(&portal, "/admin/plugins/test-trap/health").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("<dt>trap</dt><dd><span class=\"badge tone-danger\">1</span>"),
        "one trap: {body}"
    );
    assert!(
        body.contains("<td>render</td><td><span class=\"badge tone-danger\">trap</span></td>"),
        "the last error says which call and which kind: {body}"
    );
    assert!(
        body.contains("boom: the trap plugin always panics"),
        "and what happened: {body}"
    );
    assert!(body.contains(">Disable this plugin<"), "{body}");
    for operator_detail in ["Digest", "Memory limit", "Capabilities", "Contributes"] {
        assert!(
            body.contains(operator_detail),
            "`{operator_detail}` for operators: {body}"
        );
    }

    let api = json(&get(&portal, "/api/admin/plugins/test-trap/health").await);
    assert_eq!(api["calls"], 1);
    assert_eq!(api["failures"]["trap"], 1);
    assert_eq!(api["failures"]["deadline"], 0);
    assert_eq!(api["byCall"]["render"]["calls"], 1);
    assert_eq!(api["byCall"]["task"]["calls"], 0);
    assert!(api["durations"]["p99Ms"].as_f64().is_some(), "{api}");
    assert!(api["byCall"]["task"]["p50Ms"].is_null(), "{api}");
    assert_eq!(api["origin"], "configured");
    let last = &api["recentErrors"][0];
    assert_eq!(
        (&last["call"], &last["kind"]),
        (&"render".into(), &"trap".into())
    );
    assert!(
        last["message"].as_str().is_some_and(|m| m.contains("boom")),
        "{last}"
    );
    let hello = json(&get(&portal, "/api/admin/plugins/hello/health").await);
    assert_eq!(
        (&hello["calls"], &hello["failures"]["trap"]),
        (&1.into(), &0.into())
    );
}

#[tokio::test]
async fn a_plugins_denials_are_counted_and_listed_from_the_audit_log() {
    let portal = admin_portal(true, &[artifacts::PROBE_COMPONENT]);
    get(&portal, "/").await;
    let api = json(&get(&portal, "/api/admin/plugins/test-probe/health").await);
    assert_eq!(api["deniedCalls"], 1, "{api}");
    assert_eq!(
        api["failures"]["denied"], 0,
        "the probe carried on after the denial"
    );
    assert_eq!(api["denials"][0]["action"], "http.request");
    assert_eq!(api["denials"][0]["resource"], "example.com");
    let page = get(&portal, "/admin/plugins/test-probe/health").await.body;
    assert!(page.contains("1 of 1 calls had an import denied"), "{page}");
    assert!(page.contains("<code>example.com</code>"), "{page}");
    assert!(
        page.contains("href=\"/admin/audit?plugin=test-probe\""),
        "{page}"
    );
}

#[tokio::test]
async fn disabling_a_configured_plugin_needs_the_csrf_token_stops_its_calls_and_survives_a_restart()
{
    let portal = admin_portal(true, &[]);
    let forged = post_form(&portal, "/admin/plugins/hello/health/disable", None, "").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(get(&portal, "/").await.body.contains("Hello, Guest!"));

    let reply = press(&portal, "hello", "disable").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.headers["location"], "/admin/plugins/hello/health");
    let called = calls(&portal, "hello");
    let home = get(&portal, "/").await.body;
    assert!(!home.contains("Hello, Guest!"), "{home}");
    assert!(home.contains("Disabled by an admin"), "{home}");
    let api = get(&portal, "/api/plugins/hello/views").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE, "{}", api.body);
    let token = csrf_cookie(&get(&portal, "/plugins/hello").await);
    let action = post_form(
        &portal,
        "/plugins/hello/actions/sign",
        Some(&token),
        &format!("message=hi&_csrf={token}"),
    )
    .await;
    assert_eq!(action.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(calls(&portal, "hello"), called, "not called since");
    let health = get(&portal, "/admin/plugins/hello/health").await.body;
    assert!(
        health.contains(">Enable this plugin<") && health.contains("guest"),
        "says who disabled it: {health}"
    );
    assert!(
        get(&portal, "/admin/plugins")
            .await
            .body
            .contains("disabled by an admin")
    );

    // A new state on the same database: the server restarted.
    let restarted = administer_over(portal_with(true, &[]), portal.database());
    assert!(
        get(&restarted, "/")
            .await
            .body
            .contains("Disabled by an admin")
    );
    assert_eq!(calls(&restarted, "hello"), 0);

    let reply = press(&restarted, "hello", "enable").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(get(&restarted, "/").await.body.contains("Hello, Guest!"));
    let audit = AuditLog::new(portal.database())
        .recent(Some("hello"), 10)
        .expect("audit log reads");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["plugin.resume", "plugin.suspend"]);
    assert_eq!(audit[1].actor.as_deref(), Some("user:default/guest"));
}

/// Suspended before the scheduler starts, so no run can come first.
#[tokio::test(start_paused = true)]
async fn a_disabled_plugins_scheduled_tasks_do_not_run() {
    let portal = admin_portal(true, &[artifacts::PROBE_COMPONENT]);
    let reply = press(&portal, "test-probe", "disable").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let scheduler = portal.state.plugins().start_scheduler();
    assert_eq!(scheduler.len(), 1, "its task is scheduled, and skipped");
    // Its task runs every minute: two intervals, and a little.
    tokio::time::sleep(Duration::from_secs(2 * 60 + 5)).await;
    let health = portal
        .state
        .plugins()
        .get("test-probe")
        .expect("loaded")
        .health();
    let tasks = health
        .by_call
        .iter()
        .find(|s| s.call == CallKind::Task)
        .expect("tasks are counted");
    assert_eq!(tasks.durations.count(), 0);
}

#[tokio::test]
async fn non_admins_see_no_health_page_and_cannot_disable() {
    let portal = admin_portal(false, &[]);
    for page in [
        "/admin/plugins/hello/health",
        "/api/admin/plugins/hello/health",
    ] {
        assert_eq!(get(&portal, page).await.status, StatusCode::UNAUTHORIZED);
    }
    let post = post_form(&portal, "/admin/plugins/hello/health/disable", None, "").await;
    assert!(matches!(post.status.as_u16(), 401 | 403), "{}", post.status);
    assert!(portal.state.plugins().suspension("hello").is_none());
    let unknown = get(&admin_portal(true, &[]), "/admin/plugins/nope/health").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_plugin_lists_link_each_plugin_to_its_health_page() {
    let portal = admin_portal(true, &[]);
    for page in ["/plugins", "/admin/plugins", "/admin", "/plugins/hello"] {
        let body = get(&portal, page).await.body;
        assert!(
            body.contains("href=\"/admin/plugins/hello/health\""),
            "{page}: {body}"
        );
    }
    assert!(
        !get(&crate::tests::portal(), "/plugins")
            .await
            .body
            .contains("/health\""),
        "not without administration"
    );
}

// ---------------------------------------------------------------------------
// The audit log

/// Records six entries: plugins a and b alternating, actors x (odd) and y
/// (even), every third denied as `http.request`.
fn record_sample(portal: &Portal) {
    let log = AuditLog::new(portal.database());
    for n in 1..=6 {
        let denied = n % 3 == 0;
        log.record(&AuditEvent {
            actor: Some(if n % 2 == 1 {
                "user:default/x"
            } else {
                "user:default/y"
            }),
            plugin: Some(if n % 2 == 1 { "a" } else { "b" }),
            action: if denied {
                "http.request"
            } else {
                "storage.get"
            },
            resource: Some("res"),
            decision: if denied {
                Decision::Deny
            } else {
                Decision::Allow
            },
            reason: &format!("entry {n}"),
        })
        .expect("records");
    }
}

fn reasons(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["reason"].as_str().expect("a reason"))
        .collect()
}

#[tokio::test]
async fn the_audit_api_filters_by_plugin_actor_action_and_decision() {
    let portal = admin_portal(true, &[]);
    record_sample(&portal);
    let read = |query: &'static str| {
        let portal = &portal;
        async move { json(&get(portal, &format!("/api/audit?{query}")).await) }
    };
    assert_eq!(reasons(&read("").await).len(), 6);
    assert_eq!(
        reasons(&read("plugin=a").await),
        ["entry 5", "entry 3", "entry 1"]
    );
    assert_eq!(
        reasons(&read("actor=user%3Adefault%2Fy").await),
        ["entry 6", "entry 4", "entry 2"]
    );
    assert_eq!(
        reasons(&read("decision=deny").await),
        ["entry 6", "entry 3"]
    );
    assert_eq!(
        reasons(&read("action=http.request&plugin=b").await),
        ["entry 6"]
    );
    assert_eq!(
        reasons(&read("plugin=&actor=&decision=").await).len(),
        6,
        "empty fields mean any"
    );
    let entry = &read("plugin=b&decision=deny").await["items"][0];
    assert_eq!(entry["actor"], "user:default/y");
    assert_eq!(entry["decision"], "deny");
    assert_eq!(entry["resource"], "res");
    assert!(entry["at"].as_str().is_some_and(|at| at.ends_with('Z')));
    for bad in ["decision=maybe", "limit=0", "limit=501", "before=yesterday"] {
        let reply = get(&portal, &format!("/api/audit?{bad}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(json(&reply)["error"]["name"], "InputError", "{bad}");
    }
}

#[tokio::test]
async fn the_audit_api_pages_newest_first_until_the_last_page() {
    let portal = admin_portal(true, &[]);
    record_sample(&portal);
    let mut next = Some("/api/audit?plugin=a&limit=2".to_owned());
    let mut pages = Vec::new();
    while let Some(uri) = next {
        let page = json(&get(&portal, &uri).await);
        pages.push(reasons(&page).join(", "));
        next = page["next"].as_str().map(str::to_owned);
        assert!(pages.len() < 5, "paging ends");
    }
    assert_eq!(pages, ["entry 5, entry 3", "entry 1"]);
}

#[tokio::test]
async fn the_audit_page_shows_filtered_entries_with_a_link_to_older_ones() {
    let portal = admin_portal(true, &[]);
    record_sample(&portal);
    let page = get(&portal, "/admin/audit?decision=deny&limit=1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("entry 6"), "{}", page.body);
    assert!(!page.body.contains("entry 3"));
    assert!(
        page.body.contains("<option value=\"deny\" selected>"),
        "the form keeps the filter: {}",
        page.body
    );
    let older = page
        .body
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older entries")
        .replace("&amp;", "&");
    let second = get(&portal, &older).await;
    assert!(second.body.contains("entry 3"), "{}", second.body);
    assert!(!second.body.contains("entry 6"));
    assert!(
        !second.body.contains("rel=\"next\""),
        "the last page: {}",
        second.body
    );
    let none = get(&portal, "/admin/audit?actor=nobody").await;
    assert!(none.body.contains("No entry matches these filters"));
    let links = get(&portal, "/admin").await.body;
    assert!(links.contains("href=\"/admin/audit\""), "{links}");
}

#[tokio::test]
async fn non_admins_cannot_read_the_audit_log() {
    let portal = admin_portal(false, &[]);
    record_sample(&portal);
    for uri in ["/api/audit", "/admin/audit"] {
        let nobody = get(&portal, uri).await;
        assert_eq!(nobody.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(!nobody.body.contains("entry 1"));
        let request = |token: &str| {
            Request::get(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request")
        };
        let wrong = send(&portal, request("not-the-token")).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(!wrong.body.contains("entry 1"));
        let operator = send(&portal, request(TOKEN)).await;
        assert_eq!(operator.status, StatusCode::OK, "{uri}");
        assert!(operator.body.contains("entry 1"), "{uri}");
    }
    let api = get(&portal, "/api/audit").await;
    assert_eq!(json(&api)["error"]["name"], "AuthenticationError");
}

/// A plugin chooses the keys and hosts it asks for, and with them the
/// audit log's resources and reasons.
#[tokio::test]
async fn strings_a_plugin_chose_are_escaped_on_the_audit_and_health_pages() {
    let portal = admin_portal(true, &[]);
    AuditLog::new(portal.database())
        .record(&AuditEvent {
            actor: None,
            plugin: Some("hello"),
            action: "storage.get",
            resource: Some("<script>alert(1)</script>"),
            decision: Decision::Deny,
            reason: "<img src=x onerror=alert(1)>",
        })
        .expect("records");
    for page in ["/admin/audit", "/admin/plugins/hello/health"] {
        let body = get(&portal, page).await.body;
        assert!(body.contains("&lt;script&gt;alert(1)"), "{page}: {body}");
        assert!(
            !body.contains("<script>") && !body.contains("<img"),
            "{page}: {body}"
        );
    }
}
