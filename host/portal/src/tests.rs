//! The portal as a function: requests in, responses out, with real
//! plugins from this repository loaded in a real runtime.

use super::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use greenroom_artifacts as artifacts;
use greenroom_broker::PluginEnv;
use greenroom_contract::Artifact;
use greenroom_contract::Grant;
use greenroom_lifecycle::{FailedPlugin, PluginHost};
use greenroom_runtime::{Limits, LoadedPlugin, Runtime, RuntimeConfig};
use greenroom_store::Database;
use http_body_util::BodyExt;
use std::sync::OnceLock;
use std::time::Duration;
use tower::ServiceExt;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<(tempfile::TempDir, Runtime)> = OnceLock::new();
    &RUNTIME
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let runtime = Runtime::new(RuntimeConfig {
                cache_dir: Some(dir.path().to_owned()),
                ..RuntimeConfig::default()
            })
            .expect("runtime starts");
            (dir, runtime)
        })
        .1
}

pub(crate) struct Portal {
    _dir: tempfile::TempDir,
    router: Router,
    /// The state the router serves, to fill its catalog.
    pub(crate) state: AppState,
}

impl Portal {
    /// The database its plugins write to (their storage, their denials in
    /// the audit log), opened again: another pool on the same file.
    pub(crate) fn database(&self) -> Database {
        Database::open(&self._dir.path().join("greenroom.db")).expect("database opens")
    }
}

fn load(db: &Database, bytes: Vec<u8>) -> LoadedPlugin {
    let artifact = Artifact::from_bytes(bytes).expect("valid artifact");
    let manifest = artifact.manifest().clone();
    let settings = manifest
        .resolve_settings(&serde_json::json!({}))
        .expect("valid settings");
    let env = PluginEnv::new(&manifest, Grant::all_requested(&manifest), settings, db);
    let limits = Limits {
        memory: 32 << 20,
        render_deadline: Duration::from_millis(300),
        ..Limits::default()
    };
    runtime().load(artifact, env, limits).expect("loads")
}

impl Portal {
    /// The same portal with other parts (a policy, administration), as a
    /// server built with them would be.
    pub(crate) fn rebuilt(self, change: impl FnOnce(&mut crate::state::AppParts)) -> Portal {
        let state = self.state.rebuilt(change);
        Portal {
            _dir: self._dir,
            router: app(state.clone()),
            state,
        }
    }

    /// The same portal deciding with `rbac`.
    pub(crate) fn with_rbac(self, rbac: greenroom_access::rbac::Rbac) -> Portal {
        self.rebuilt(|parts| parts.rbac = Some(rbac))
    }
}

pub(crate) fn portal_with(guest_access: bool, test_plugins: &[&str]) -> Portal {
    portal_configured(
        PortalConfig {
            guest_access,
            ..PortalConfig::default()
        },
        test_plugins,
    )
}

pub(crate) fn portal_configured(config: PortalConfig, test_plugins: &[&str]) -> Portal {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("greenroom.db")).expect("database opens");
    let mut plugins = vec![load(
        &db,
        artifacts::bundled("hello")
            .expect("hello is bundled")
            .bytes
            .to_vec(),
    )];
    for path in test_plugins {
        plugins.push(load(&db, std::fs::read(path).expect("test plugin built")));
    }
    let failed = vec![FailedPlugin {
        source: "broken.wasm".into(),
        error: "not a Greenroom plugin".into(),
    }];
    let catalog = greenroom_catalog::Catalog::new(
        greenroom_catalog::CatalogStore::new(db.clone()),
        greenroom_catalog::CatalogConfig::default(),
    );
    let state = AppState::new(PluginHost::new(plugins, failed), config, catalog);
    Portal {
        _dir: dir,
        router: app(state.clone()),
        state,
    }
}

pub(crate) fn portal() -> Portal {
    portal_with(true, &[])
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: String,
}

pub(crate) async fn send(portal: &Portal, request: Request<Body>) -> Reply {
    send_to(&portal.router, request).await
}

/// Sends `request` to `router`, for tests whose portal is built otherwise.
pub(crate) async fn send_to(router: &Router, request: Request<Body>) -> Reply {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router always answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) async fn get(portal: &Portal, uri: &str) -> Reply {
    send(
        portal,
        Request::get(uri).body(Body::empty()).expect("request"),
    )
    .await
}

pub(crate) fn csrf_cookie(reply: &Reply) -> String {
    let cookie = reply.headers.get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.strip_prefix("greenroom_csrf=")
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    });
    cookie.expect("the page set a CSRF cookie")
}

pub(crate) async fn post_form(
    portal: &Portal,
    uri: &str,
    cookie: Option<&str>,
    form: &str,
) -> Reply {
    let mut request =
        Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("greenroom_csrf={cookie}"));
    }
    send(
        portal,
        request.body(Body::from(form.to_owned())).expect("request"),
    )
    .await
}

#[tokio::test]
async fn home_page_draws_every_widget_and_contains_failures_in_their_slots() {
    let portal = portal_with(
        true,
        &[
            artifacts::TRAP_COMPONENT,
            artifacts::SPIN_COMPONENT,
            artifacts::XSS_COMPONENT,
        ],
    );
    let reply = get(&portal, "/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body.contains("Hello, Guest!"),
        "hello's widget is on the page"
    );
    assert!(
        reply.body.contains("the plugin crashed"),
        "the trap plugin's slot shows an error card"
    );
    assert!(
        reply.body.contains("did not finish within 300 ms"),
        "the looping plugin was stopped"
    );
    assert!(
        !reply.body.contains("<script>"),
        "the xss plugin's markup is escaped"
    );
    assert!(
        reply.body.contains("&lt;script&gt;document.title"),
        "and shown as text"
    );
    assert!(
        !reply.body.contains("href=\"javascript:"),
        "script URLs never become links"
    );
    assert!(
        reply.body.contains("Guest access is on."),
        "the guest banner is shown"
    );
}

#[tokio::test]
async fn pages_carry_a_policy_that_forbids_every_script() {
    let reply = get(&portal(), "/").await;
    let policy = reply
        .headers
        .get("content-security-policy")
        .expect("CSP header")
        .to_str()
        .expect("ascii");
    assert!(
        policy.contains("default-src 'none'") && !policy.contains("script-src"),
        "{policy}"
    );
    assert_eq!(
        reply.headers.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );
}

#[tokio::test]
async fn refuses_everyone_when_guest_access_is_off() {
    let portal = portal_with(false, &[]);
    let page = get(&portal, "/").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.body.contains("guest access"),
        "the page says how to get in: {}",
        page.body
    );
    assert!(!page.body.contains("Hello, Guest!"));
}

#[tokio::test]
async fn api_errors_are_json_in_backstages_format() {
    let reply = get(&portal(), "/api/no/such/thing").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON body");
    assert_eq!(body["error"]["name"], "NotFoundError");
    assert_eq!(body["response"]["statusCode"], 404);
}

#[tokio::test]
async fn unknown_pages_get_a_helpful_404_page() {
    let reply = get(&portal(), "/nowhere").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("Back to the home page"));
    // In the header every other page has: who is signed in, the plugin
    // pages.
    let home = get(&portal(), "/").await.body;
    let header = |body: &str| {
        let after = body.split("<header").nth(1).unwrap_or_default();
        after
            .split("</header>")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header(&reply.body),
        header(&home).replace(
            " nav-current\" href=\"/\" aria-current=\"page\"",
            "\" href=\"/\""
        )
    );
    assert!(reply.body.contains("class=\"user-name\""), "{}", reply.body);
    assert_eq!(
        get(&portal(), "/plugins/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn health_check_reports_loaded_and_failed_plugins() {
    let reply = get(&portal(), "/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON body");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["plugins"]["loaded"], 1);
    assert_eq!(body["plugins"]["failed"], 1);
}

#[tokio::test]
async fn people_see_plugin_pages_in_the_navigation_and_no_operator_details() {
    let portal = portal();
    let nav_link = "<a class=\"nav-link\" href=\"/plugins/hello\">";
    let home = get(&portal, "/").await;
    assert!(
        home.body.contains(nav_link),
        "hello's page is in the header: {}",
        home.body
    );

    let page = get(&portal, "/plugins/hello").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            "<a class=\"nav-link nav-current\" href=\"/plugins/hello\" aria-current=\"page\">"
        ),
        "the current page is marked in the header: {}",
        page.body
    );
    for operator_only in [
        "Digest",
        "Memory limit",
        "Render deadline",
        "Capabilities",
        "Mean duration",
        "Operator details",
    ] {
        assert!(
            !page.body.contains(operator_only),
            "`{operator_only}` on a person's page: {}",
            page.body
        );
    }

    let list = get(&portal, "/plugins").await;
    assert!(
        !list.body.contains(">Calls<") && !list.body.contains(">Failures<"),
        "{}",
        list.body
    );
}

#[tokio::test]
async fn plugin_list_shows_installed_and_refused_plugins() {
    let reply = get(&portal(), "/plugins").await;
    assert!(reply.body.contains("href=\"/plugins/hello\""));
    assert!(reply.body.contains("broken.wasm") && reply.body.contains("not a Greenroom plugin"));
    let api = get(&portal(), "/api/plugins").await;
    let body: serde_json::Value = serde_json::from_str(&api.body).expect("JSON");
    assert_eq!(body["items"][0]["id"], "hello");
    let granted = body["items"][0]["capabilities"]["granted"]
        .as_array()
        .expect("a list of grants");
    assert!(
        granted.contains(&serde_json::json!("storage (256.0 KiB)")),
        "{granted:?}"
    );
}

#[tokio::test]
async fn the_stylesheet_is_served_from_the_binary_and_cached_forever() {
    let home = get(&portal(), "/").await;
    let href = home
        .body
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("stylesheet link");
    let css = get(&portal(), href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/css")
    );
    assert!(
        css.headers["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("immutable")
    );
    assert!(css.body.contains(".card"), "the design system is in it");
    assert_eq!(
        get(&portal(), "/assets/other.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_form_post_without_the_csrf_token_is_refused() {
    let portal = portal();
    let forged = post_form(
        &portal,
        "/plugins/hello/actions/sign",
        None,
        "message=hi&_return=%2Fplugins%2Fhello",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let page = get(&portal, "/plugins/hello").await;
    let cookie = csrf_cookie(&page);
    let wrong = "0".repeat(64);
    let mismatched = post_form(
        &portal,
        "/plugins/hello/actions/sign",
        Some(&cookie),
        &format!("message=hi&_csrf={wrong}"),
    )
    .await;
    assert_eq!(mismatched.status, StatusCode::FORBIDDEN);
    assert!(
        !get(&portal, "/plugins/hello").await.body.contains("hi</p>"),
        "nothing was signed"
    );
}

#[tokio::test]
async fn a_form_post_reaches_the_plugins_action_and_returns_to_the_page() {
    let portal = portal();
    let page = get(&portal, "/plugins/hello").await;
    assert!(
        page.body.contains("action=\"/plugins/hello/actions/sign\""),
        "the guestbook form is drawn"
    );
    let cookie = csrf_cookie(&page);
    let form = format!("message=Greetings+from+the+test&_csrf={cookie}&_return=%2Fplugins%2Fhello");
    let reply = post_form(&portal, "/plugins/hello/actions/sign", Some(&cookie), &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers["location"], "/plugins/hello");
    let notice = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with("greenroom_notice=")));
    assert!(notice, "the plugin's message is carried to the next page");
    assert!(
        get(&portal, "/plugins/hello")
            .await
            .body
            .contains("Greetings from the test")
    );
}

#[tokio::test]
async fn a_refused_submission_shows_the_form_again_with_the_error() {
    let portal = portal();
    let cookie = csrf_cookie(&get(&portal, "/plugins/hello").await);
    let reply = post_form(
        &portal,
        "/plugins/hello/actions/sign",
        Some(&cookie),
        &format!("message=+&_csrf={cookie}&_return=%2Fplugins%2Fhello"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body.contains("This field is required."),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn plugin_api_routes_reach_the_plugins_handle_export() {
    let portal = portal();
    get(&portal, "/").await;
    let reply = get(&portal, "/api/plugins/hello/views").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(body["home"], 1);
    let policy = reply.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        policy.starts_with("sandbox"),
        "plugin responses are sandboxed: {policy}"
    );
}

#[tokio::test]
async fn plugin_api_writes_must_be_json() {
    let portal = portal();
    let reply = send(
        &portal,
        Request::post("/api/plugins/hello/views")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("a=b"))
            .expect("request"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn plugin_api_writes_without_a_body_must_be_json_too() {
    let reply = send(
        &portal(),
        Request::post("/api/plugins/hello/views")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_plugin_api_write_another_site_started_is_refused_even_as_json() {
    let reply = send(
        &portal(),
        Request::post("/api/plugins/hello/views")
            .header("content-type", "application/json")
            .header("sec-fetch-site", "cross-site")
            .body(Body::from("{}"))
            .expect("request"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
}

#[tokio::test]
async fn the_api_refuses_everyone_when_guest_access_is_off() {
    let portal = portal_with(false, &[]);
    for uri in ["/api/plugins", "/api/plugins/hello/views"] {
        let reply = get(&portal, uri).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(body["error"]["name"], "AuthenticationError");
    }
    assert_eq!(
        get(&portal, "/healthz").await.status,
        StatusCode::OK,
        "load balancers still see health"
    );
}

#[tokio::test]
async fn a_service_calls_a_plugin_api_with_its_token_and_nothing_else_passes_for_one() {
    const TOKEN: &str = "0123456789abcdef0123456789abcdef";
    let portal = portal_configured(
        PortalConfig {
            api_tokens: vec![crate::ApiToken::new("ci", vec!["test-probe".into()], TOKEN)],
            ..PortalConfig::default()
        },
        &[artifacts::PROBE_COMPONENT],
    );
    let call = |authorization: Option<&str>, caller: Option<&str>| {
        let mut request = Request::get("/api/plugins/test-probe/headers");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(value) = caller {
            request = request.header(crate::CALLER_HEADER, value);
        }
        request.body(Body::empty()).expect("request")
    };
    let reply = send(&portal, call(Some(&format!("Bearer {TOKEN}")), None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let seen: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    let headers = seen["headers"].as_array().expect("headers");
    assert!(
        headers.contains(&serde_json::json!(["greenroom-caller", "service:ci"])),
        "the plugin is told which service called: {headers:?}"
    );
    assert!(
        !reply.body.contains(TOKEN),
        "the token never reaches the plugin"
    );

    // A forged caller header with a wrong token: refused and audited.
    let forged = send(
        &portal,
        call(
            Some("Bearer not-the-token-at-all-000000"),
            Some("service:ci"),
        ),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", forged.body);
    let audit = greenroom_access::AuditLog::new(portal.database())
        .recent(None, 10)
        .expect("audit readable");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "api.token" && e.plugin.as_deref() == Some("test-probe")),
        "{audit:?}"
    );
    // Nobody signed in, no token: still 401, whatever the header says.
    let anonymous = send(&portal, call(None, Some("service:ci"))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_caller_header_from_outside_never_reaches_a_plugin() {
    let portal = portal_with(true, &[artifacts::PROBE_COMPONENT]);
    let request = Request::get("/api/plugins/test-probe/headers")
        .header(crate::CALLER_HEADER, "service:ci")
        .body(Body::empty())
        .expect("request");
    let reply = send(&portal, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        !reply.body.contains("greenroom-caller"),
        "a guest cannot pose as a service: {}",
        reply.body
    );
}

#[tokio::test]
async fn plugins_never_see_credentials_nor_set_cookies_security_headers_or_foreign_redirects() {
    let portal = portal_with(true, &[artifacts::PROBE_COMPONENT]);
    let request = Request::get("/api/plugins/test-probe/headers")
        .header("cookie", "greenroom_csrf=secret")
        .header("authorization", "Bearer secret")
        .header("proxy-authorization", "Basic secret")
        // What sign-in proxies and load balancers add in front of a portal.
        .header("x-forwarded-access-token", "secret-access-token")
        .header("x-forwarded-email", "secret@example.com")
        .header("x-auth-request-access-token", "secret")
        .header("x-auth-request-user", "secret")
        .header("x-amzn-oidc-data", "secret")
        .header("cf-access-jwt-assertion", "secret")
        .header("x-forwarded-for", "10.0.0.1")
        .header("accept", "application/json")
        .header("if-none-match", "\"v1\"")
        .body(Body::empty())
        .expect("request");
    let reply = send(&portal, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let seen: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
    let names: Vec<&str> = seen["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter_map(|pair| pair[0].as_str())
        .collect();
    assert_eq!(
        names,
        ["accept", "if-none-match"],
        "only the allowed request headers reach the plugin: {}",
        reply.body
    );
    assert!(!reply.body.contains("secret"), "{}", reply.body);
    assert!(!reply.body.contains("10.0.0.1"), "{}", reply.body);

    for dropped in [
        "set-cookie",
        "location",
        "access-control-allow-origin",
        "refresh",
        "x-probe",
        "clear-site-data",
        "www-authenticate",
        "transfer-encoding",
        "connection",
        "x-accel-redirect",
        "link",
    ] {
        assert!(
            reply.headers.get(dropped).is_none(),
            "{dropped} passed: {:?}",
            reply.headers
        );
    }
    assert_ne!(
        reply.headers.get("content-length").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert_eq!(reply.headers["x-frame-options"], "DENY");
    assert!(
        reply.headers["content-security-policy"]
            .to_str()
            .expect("ascii")
            .starts_with("sandbox")
    );
    assert_eq!(reply.headers["etag"], "\"probe-1\"");
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(
        reply
            .headers
            .get_all("content-type")
            .iter()
            .collect::<Vec<_>>(),
        ["text/html"],
        "one content type, the plugin's last"
    );
}

#[tokio::test]
async fn a_redirect_to_a_portal_path_passes_and_a_location_elsewhere_is_dropped() {
    let portal = portal_with(true, &[artifacts::PROBE_COMPONENT]);
    let redirect = get(&portal, "/api/plugins/test-probe/redirect").await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert_eq!(redirect.headers["location"], "/plugins");
    let located = get(&portal, "/api/plugins/test-probe/located").await;
    assert_eq!(located.status, StatusCode::OK);
    assert!(located.headers.get("location").is_none(), "not a redirect");
}

#[tokio::test]
async fn a_response_with_an_impossible_status_is_a_gateway_error() {
    let portal = portal_with(true, &[artifacts::PROBE_COMPONENT]);
    let reply = get(&portal, "/api/plugins/test-probe/bad-status").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert!(
        reply.body.contains("status 999 is not an HTTP status"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_plugin_cannot_switch_protocols_nor_flood_headers() {
    let portal = portal_with(true, &[artifacts::PROBE_COMPONENT]);
    for (path, says) in [
        (
            "switching-protocols",
            "status 101 is not one a plugin may answer (200–599)",
        ),
        ("header-flood", "20001 response headers (at most 32)"),
        (
            "huge-header",
            "response header `etag` is 65540 bytes (at most 4096)",
        ),
    ] {
        let reply = get(&portal, &format!("/api/plugins/test-probe/{path}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{path}: {}",
            reply.body
        );
        assert!(reply.body.contains(says), "{path}: {}", reply.body);
        assert!(reply.headers.get("upgrade").is_none());
        assert!(reply.headers.len() < 20, "{path}: {:?}", reply.headers);
    }
}

#[tokio::test]
async fn every_portal_link_on_the_home_and_plugin_pages_leads_somewhere() {
    let portal = portal();
    for page in ["/", "/plugins", "/plugins/hello"] {
        let body = get(&portal, page).await.body;
        let links: Vec<&str> = body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|href| href.starts_with('/'))
            .collect();
        assert!(!links.is_empty(), "{page} has links");
        for href in links {
            let href = href.replace("&amp;", "&");
            let href = href.split('#').next().unwrap_or_default();
            assert_eq!(
                get(&portal, href).await.status,
                StatusCode::OK,
                "{href}, linked from {page}"
            );
        }
    }
}

/// A plugin swapped in after the server started (an install, an upgrade, a
/// dev reload) runs its scheduled tasks; one taken out stops.
#[tokio::test(start_paused = true)]
async fn plugins_swapped_in_while_serving_run_their_scheduled_tasks_until_removed() {
    let portal = portal();
    let scheduler = portal.state.plugins().start_scheduler();
    assert_eq!(scheduler.len(), 0, "hello has no scheduled task");
    let db = Database::open(&portal._dir.path().join("greenroom.db")).expect("database opens");
    let probe = load(
        &db,
        std::fs::read(artifacts::PROBE_COMPONENT).expect("test plugin built"),
    );
    portal.state.plugins().insert(probe);
    assert_eq!(scheduler.len(), 1, "the probe's task is scheduled");
    // Its task runs every minute: two runs, and a little. (Read from its
    // storage: with the clock paused, a render would time out at once.)
    tokio::time::sleep(Duration::from_secs(2 * 60 + 5)).await;
    let ticks = greenroom_store::PluginStore::new(db.clone(), "test-probe", 1 << 20)
        .get("ticks")
        .expect("reads");
    assert_eq!(ticks.as_deref(), Some(&b"2"[..]), "two scheduled runs");

    portal.state.plugins().remove("test-probe");
    assert_eq!(scheduler.len(), 0, "a removed plugin's task stops");
}
