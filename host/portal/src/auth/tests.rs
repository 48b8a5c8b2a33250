//! Sign-in over HTTP, with `oneshot`: a portal whose catalog has two people
//! and whose sign-in trusts a proxy at 127.0.0.1 (the OpenID Connect flow
//! runs against a real provider in `tests/e2e/sign_in.rs`).

use crate::state::{AppState, PortalConfig};
use crate::tests::{Reply, csrf_cookie, send_to};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use greenroom_access::{
    Claims, ProxySignIn, Resolver, SessionKey, SignIn, SignInSettings, TrustedProxies, UnknownUsers,
};
use greenroom_catalog::{Catalog, CatalogConfig, CatalogStore, LocationType};
use greenroom_store::Database;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const PEOPLE: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: platform }
spec: { type: department, children: [team-web] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-web }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: maya }
spec:
  profile: { displayName: Maya Okafor, email: maya@example.com }
  memberOf: [team-web]
";

const PROXY: &str = "127.0.0.1:41000";
const STRANGER: &str = "198.51.100.7:41000";

struct Fixture {
    _dir: tempfile::TempDir,
    router: Router,
    sign_in: Arc<SignIn>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("greenroom.db")).expect("database opens");
    let file = dir.path().join("people.yaml");
    std::fs::write(&file, PEOPLE).expect("written");
    let catalog = Catalog::new(CatalogStore::new(db.clone()), CatalogConfig::default());
    catalog
        .add_location(
            LocationType::File,
            file.to_str().expect("utf-8"),
            "test",
            false,
        )
        .expect("registers");
    let sign_in = Arc::new(SignIn::new(
        db,
        catalog.store().clone(),
        SessionKey::generate(),
        SignInSettings {
            proxy: Some(ProxySignIn {
                header: header::HeaderName::from_static("x-forwarded-email"),
                trusted: TrustedProxies::parse(&["127.0.0.1/32"]).expect("valid"),
                resolvers: vec![Resolver::EmailMatchingUserEntityProfileEmail],
                sign_out_url: Some("/oauth2/sign_out".into()),
            }),
            oidc: None,
            unknown_users: UnknownUsers::Refuse,
            session_lifetime: Duration::from_secs(3600),
        },
    ));
    let state = AppState::new(
        greenroom_lifecycle::PluginHost::new(Vec::new(), Vec::new()),
        PortalConfig {
            sign_in: Some(Arc::clone(&sign_in)),
            ..PortalConfig::default()
        },
        catalog,
    );
    Fixture {
        _dir: dir,
        router: crate::app(state),
        sign_in,
    }
}

async fn send(f: &Fixture, request: Request<Body>) -> Reply {
    send_to(&f.router, request).await
}

/// `GET path` from `peer` (none: as `oneshot` sends it, without
/// `ConnectInfo`), with extra headers.
async fn get_from(f: &Fixture, path: &str, peer: Option<&str>, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).expect("request");
    if let Some(peer) = peer {
        let address: SocketAddr = peer.parse().expect("an address");
        request.extensions_mut().insert(ConnectInfo(address));
    }
    send(f, request).await
}

fn location(reply: &Reply) -> &str {
    reply
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A session for Maya, as an OpenID Connect sign-in starts one: the
/// cookie's value.
fn maya_session(f: &Fixture) -> String {
    let claims = Claims {
        method: "oidc",
        email: Some("maya@example.com".into()),
        ..Claims::default()
    };
    let (_, issued) = f
        .sign_in
        .start_session(&claims, &[Resolver::EmailMatchingUserEntityProfileEmail])
        .expect("starts")
        .expect("maya is in the catalog");
    issued.value
}

#[tokio::test]
async fn pages_send_nobody_to_sign_in_and_the_api_answers_401() {
    let f = fixture();
    let page = get_from(&f, "/catalog?filters=kind%3Duser", None, &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&page),
        "/auth/sign-in?return=%2Fcatalog%3Ffilters%3Dkind%253Duser"
    );
    let api = get_from(&f, "/api/plugins", None, &[]).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.body.contains("AuthenticationError"), "{}", api.body);
    let sign_in = get_from(&f, "/auth/sign-in?return=%2Fcatalog", None, &[]).await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert!(
        sign_in.body.contains("x-forwarded-email"),
        "{}",
        sign_in.body
    );
}

#[tokio::test]
async fn a_trusted_proxys_header_signs_in_the_catalog_user() {
    let f = fixture();
    let reply = get_from(
        &f,
        "/",
        Some(PROXY),
        &[("x-forwarded-email", "MAYA@example.com")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.body.contains("Maya Okafor"),
        "the header shows who is signed in"
    );
    assert!(
        reply.body.contains("action=\"/auth/sign-out\""),
        "and a sign-out button"
    );
    let profile = get_from(
        &f,
        "/me",
        Some(PROXY),
        &[("x-forwarded-email", "maya@example.com")],
    )
    .await;
    assert!(
        profile.body.contains("user:default/maya"),
        "{}",
        profile.body
    );
    assert!(
        profile.body.contains("group:default/team-web"),
        "{}",
        profile.body
    );
    assert!(
        profile.body.contains("group:default/platform"),
        "groups are transitive"
    );
}

#[tokio::test]
async fn a_proxy_header_from_anywhere_else_is_refused() {
    let f = fixture();
    for peer in [Some(STRANGER), None] {
        let reply = get_from(&f, "/", peer, &[("x-forwarded-email", "maya@example.com")]).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "from {peer:?}");
        assert!(
            reply.body.contains("not one of the trusted proxies"),
            "{}",
            reply.body
        );
        assert!(!reply.body.contains("Maya Okafor"));
    }
    let api = get_from(
        &f,
        "/api/plugins",
        Some(STRANGER),
        &[("x-forwarded-email", "maya@example.com")],
    )
    .await;
    assert_eq!(api.status, StatusCode::FORBIDDEN);
    assert!(api.body.contains("NotAllowedError"), "{}", api.body);
}

#[tokio::test]
async fn someone_the_catalog_does_not_list_is_refused_with_the_reason() {
    let f = fixture();
    let reply = get_from(
        &f,
        "/",
        Some(PROXY),
        &[("x-forwarded-email", "eve@example.com")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply
            .body
            .contains("eve@example.com signed in, but no User in the catalog matches"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_session_cookie_signs_in_until_sign_out_revokes_it() {
    let f = fixture();
    let session = maya_session(&f);
    let cookie = format!("greenroom_session={session}");
    let home = get_from(&f, "/", None, &[("cookie", &cookie)]).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Maya Okafor"));
    let csrf = csrf_cookie(&home);

    let sign_out = Request::post("/auth/sign-out")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("{cookie}; greenroom_csrf={csrf}"))
        .body(Body::from(format!("_csrf={csrf}")))
        .expect("request");
    let reply = send(&f, sign_out).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&reply), "/auth/sign-in?signed-out");
    let cleared = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("greenroom_session=;") && v.contains("Max-Age=0"));
    assert!(cleared, "the cookie is cleared: {:?}", reply.headers);

    // The same cookie, replayed, is worth nothing: its session is gone.
    let after = get_from(&f, "/", None, &[("cookie", &cookie)]).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/auth/sign-in"));
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token() {
    let f = fixture();
    let session = maya_session(&f);
    let cookie = format!("greenroom_session={session}");
    let forged = Request::post("/auth/sign-out")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &cookie)
        .body(Body::from(format!("_csrf={}", "0".repeat(64))))
        .expect("request");
    assert_eq!(send(&f, forged).await.status, StatusCode::FORBIDDEN);
    let still = get_from(&f, "/", None, &[("cookie", &cookie)]).await;
    assert_eq!(still.status, StatusCode::OK, "still signed in");
}

#[tokio::test]
async fn a_forged_or_tampered_session_cookie_signs_in_nobody() {
    let f = fixture();
    let session = maya_session(&f);
    let (id, rest) = session.split_once('.').expect("sealed");
    let tampered = format!(
        "{}{}.{rest}",
        if id.starts_with('A') { "B" } else { "A" },
        &id[1..]
    );
    let from_another_server = SessionKey::generate().seal("session", &[1; 32], i64::MAX / 2);
    for value in [tampered, from_another_server, "nonsense".to_owned()] {
        let reply = get_from(
            &f,
            "/",
            None,
            &[("cookie", &format!("greenroom_session={value}"))],
        )
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{value}");
    }
}

#[tokio::test]
async fn sign_in_returns_only_to_local_pages() {
    let f = fixture();
    let session = maya_session(&f);
    let cookie = format!("greenroom_session={session}");
    for (asked, expected) in [
        ("/auth/sign-in?return=%2Fcatalog", "/catalog"),
        (
            "/auth/sign-in?return=https%3A%2F%2Fevil.example.com%2F",
            "/",
        ),
        ("/auth/sign-in?return=%2F%2Fevil.example.com", "/"),
        ("/auth/sign-in?return=%2Fauth%2Fsign-in", "/"),
    ] {
        let reply = get_from(&f, asked, None, &[("cookie", &cookie)]).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{asked}");
        assert_eq!(location(&reply), expected, "{asked}");
    }
}
