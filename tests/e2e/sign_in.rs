//! Sign-in, end to end: the real binary reading the demo organisation,
//! a trusted proxy's header, and OpenID Connect against a real, certified
//! provider (`oidc-provider` from npm, `tests/e2e/node/oidc-provider.mjs`),
//! driven the way a browser drives it: redirects followed one by one,
//! cookies kept, the provider's login and consent forms posted.

use crate::support::{Server, free_port, write_config};
use reqwest::blocking::{Client, Response};
use reqwest::cookie::{CookieStore as _, Jar};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// How long Node may take to start the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(30);

/// Maya, as the demo organisation has her: in Web Experience, in Commerce
/// Engineering, in Acme Retail.
pub(crate) const MAYA_EMAIL: &str = "maya.okafor@acme-retail.example";
const MAYA_GROUPS: [&str; 3] = [
    "group:default/team-web",
    "group:default/commerce-engineering",
    "group:default/acme-retail",
];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the greenroom package is host/cli in the repository")
        .to_owned()
}

/// A portal reading the demo organisation (no plugins, no guest) with the
/// sign-in configured by `auth`, on `listen` or a free port. Returns once
/// the catalog has been read.
pub(crate) fn portal(auth: &str, listen: Option<&str>) -> Server {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let catalog = repository().join("demo/catalog/all.yaml");
    let config = format!(
        "{auth}\n\n[[catalog.locations]]\ntype = \"file\"\ntarget = {:?}\n",
        catalog.to_str().expect("utf-8 path")
    );
    let file = write_config(data_dir.path(), &config);
    let args = ["--config", file.to_str().expect("utf-8 path")];
    let server = match listen {
        Some(listen) => Server::start_listening(data_dir, &args, listen),
        None => Server::start_in(data_dir, &args),
    };
    server.wait_for_catalog();
    server
}

/// A browser: keeps cookies in `jar`, follows no redirect by itself.
fn browser(jar: &Arc<Jar>) -> Client {
    Client::builder()
        .cookie_provider(Arc::clone(jar))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// One hop a browser made: where, what came back, what cookies were set.
struct Hop {
    url: String,
    status: u16,
    set_cookies: Vec<String>,
}

/// Follows redirects from `response` as a browser would, recording each
/// hop; the first response that is not a redirect, and the hops.
fn follow(client: &Client, mut response: Response, hops: &mut Vec<Hop>) -> Response {
    for _ in 0..20 {
        hops.push(Hop {
            url: response.url().to_string(),
            status: response.status().as_u16(),
            set_cookies: set_cookies(&response),
        });
        if !response.status().is_redirection() {
            return response;
        }
        let next = response
            .url()
            .join(&location(&response))
            .expect("a redirect to a URL");
        response = client.get(next).send().expect("the redirect answers");
    }
    panic!("more than 20 redirects");
}

/// `node oidc-provider.mjs`, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the provider with the portal as its client, redirecting to
/// `redirect`.
fn start_provider(redirect: &str, secret: &str) -> Provider {
    let project = repository().join("tests/e2e/node");
    assert!(
        project.join("node_modules/oidc-provider").is_dir(),
        "oidc-provider is not installed in {}: run scripts/setup (or `npm ci --prefix tests/e2e/node`) first",
        project.display()
    );
    let mut child = Command::new("node")
        .arg(project.join("oidc-provider.mjs"))
        .args([redirect, "greenroom", secret])
        .current_dir(&project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 20 or newer is needed): {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, issuer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("issuer ") {
                let _ = lines.send(url.trim().to_owned());
            }
        }
    });
    let issuer = issuer.recv_timeout(PROVIDER_TIMEOUT).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the OpenID Connect provider did not start within {PROVIDER_TIMEOUT:?}")
    });
    Provider { child, issuer }
}

/// A portal on a chosen port, registered with a fresh provider.
struct OidcSetup {
    // Dropped first: the portal stops before its provider.
    server: Server,
    _provider: Provider,
}

fn oidc_setup() -> OidcSetup {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let secret = "e2e-client-secret-that-is-long-enough";
    let provider = start_provider(&format!("{base}/auth/oidc/callback"), secret);
    let auth = format!(
        "public-url = {base:?}\n\n[auth.oidc]\nissuer = {:?}\nclient-id = \"greenroom\"\nclient-secret = {secret:?}\n",
        provider.issuer
    );
    let server = portal(&auth, Some(&format!("127.0.0.1:{port}")));
    OidcSetup {
        server,
        _provider: provider,
    }
}

/// Signs in as `login` through the provider, starting from the portal page
/// `page`: sent to the sign-in page, its button pressed, the provider's
/// forms posted. The last response (the page returned to, or a refusal)
/// and the hops on the way.
fn sign_in_as(client: &Client, server: &Server, page: &str, login: &str) -> (Response, Vec<Hop>) {
    let mut hops = Vec::new();
    let first = client
        .get(format!("{}{page}", server.base))
        .send()
        .expect("the portal answers");
    let sign_in_page = follow(client, first, &mut hops);
    assert_eq!(sign_in_page.url().path(), "/auth/sign-in");
    let body = sign_in_page.text().expect("a page");
    let button = body
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/auth/oidc/start"))
        .unwrap_or_else(|| panic!("the sign-in page offers OpenID Connect: {body}"))
        .replace("&amp;", "&");
    let pressed = client
        .get(format!("{}{button}", server.base))
        .send()
        .expect("the portal answers");
    let mut response = follow(client, pressed, &mut hops);
    // The provider's development forms: log in (any password), then
    // consent to the scopes.
    for _ in 0..4 {
        let on_provider_form = response.url().path().starts_with("/interaction/");
        if !on_provider_form {
            return (response, hops);
        }
        let form_url = response.url().clone();
        let body = response.text().expect("a form");
        let fields: Vec<(&str, &str)> = if body.contains("name=\"prompt\" value=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else {
            assert!(body.contains("name=\"prompt\" value=\"consent\""), "{body}");
            vec![("prompt", "consent")]
        };
        let posted = client
            .post(form_url)
            .form(&fields)
            .send()
            .expect("the provider answers");
        response = follow(client, posted, &mut hops);
    }
    panic!("the provider kept asking");
}

/// The value of cookie `name` the jar holds for `base`.
fn cookie_value(jar: &Jar, base: &str, name: &str) -> Option<String> {
    let header = jar.cookies(&base.parse().expect("a URL"))?;
    header
        .to_str()
        .ok()?
        .split("; ")
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .map(str::to_owned)
}

/// `GET path` with exactly this `cookie` header (another browser, or a
/// thief), redirects not followed.
fn get_with_cookie(server: &Server, path: &str, cookie: &str) -> Response {
    let jar = Arc::new(Jar::default());
    browser(&jar)
        .get(format!("{}{path}", server.base))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .expect("the portal answers")
}

#[test]
fn a_proxy_header_is_believed_only_from_a_trusted_proxy() {
    let proxy = |trusted: &str| {
        format!("[auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = [{trusted:?}]\n")
    };
    let jar = Arc::new(Jar::default());
    let client = browser(&jar);
    let me = |server: &Server, header: Option<&str>| {
        let mut request = client.get(format!("{}/me", server.base));
        if let Some(email) = header {
            request = request.header("X-Forwarded-Email", email);
        }
        request.send().expect("the portal answers")
    };

    // The tests reach the portal from 127.0.0.1, which this one does not trust.
    let untrusting = portal(&proxy("10.0.0.0/8"), None);
    let refused = me(&untrusting, Some(MAYA_EMAIL));
    assert_eq!(refused.status().as_u16(), 403);
    let body = refused.text().expect("a page");
    assert!(
        body.contains("the x-forwarded-email header came from 127.0.0.1, which is not one of the trusted proxies"),
        "{body}"
    );
    assert!(!body.contains("Maya Okafor"));
    assert!(
        untrusting.log().contains("sign-in refused"),
        "it is logged:\n{}",
        untrusting.log()
    );
    drop(untrusting);

    let trusting = portal(&proxy("127.0.0.1/32"), None);
    let signed_in = me(&trusting, Some(MAYA_EMAIL));
    assert_eq!(signed_in.status().as_u16(), 200);
    let body = signed_in.text().expect("a page");
    assert!(
        body.contains("Maya Okafor") && body.contains("user:default/maya.okafor"),
        "{body}"
    );
    for group in MAYA_GROUPS {
        assert!(body.contains(group), "{group} (transitively) in {body}");
    }
    // No header: nobody, sent to sign in.
    let nobody = me(&trusting, None);
    assert_eq!(nobody.status().as_u16(), 303);
    assert_eq!(location(&nobody), "/auth/sign-in?return=%2Fme");
    // Someone the proxy vouches for but the catalog does not list.
    let stranger = me(&trusting, Some("eve@elsewhere.example"));
    assert_eq!(stranger.status().as_u16(), 403);
}

#[test]
fn openid_connect_signs_in_the_catalog_user_and_sign_out_revokes_the_session() {
    let setup = oidc_setup();
    let server = &setup.server;
    let jar = Arc::new(Jar::default());
    let client = browser(&jar);

    let (page, hops) = sign_in_as(&client, server, "/me", "maya.okafor");
    let status = page.status().as_u16();
    let body = page.text().expect("a page");
    assert_eq!(status, 200, "{body}\nserver log:\n{}", server.log());

    // The way there: the portal sent the browser to its sign-in page, whose
    // button went to the provider with PKCE (S256), state and nonce, and
    // the provider sent it back.
    assert_eq!((hops[0].status, hops[1].status), (303, 200));
    assert!(
        hops[1].url.ends_with("/auth/sign-in?return=%2Fme"),
        "{}",
        hops[1].url
    );
    let start = &hops[2];
    assert!(
        start.url.contains("/auth/oidc/start?return=%2Fme"),
        "{}",
        start.url
    );
    let pending = start
        .set_cookies
        .iter()
        .find(|c| c.starts_with("greenroom_oidc="))
        .expect("the state goes with the browser");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/auth/oidc", "Max-Age=600"] {
        assert!(pending.contains(attribute), "{attribute} in {pending}");
    }
    let provider_request = hops
        .iter()
        .find(|h| h.url.contains("code_challenge="))
        .expect("the browser went to the provider");
    for parameter in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "response_type=code",
    ] {
        assert!(
            provider_request.url.contains(parameter),
            "{parameter} in {}",
            provider_request.url
        );
    }
    let callback = hops
        .iter()
        .find(|h| {
            h.url
                .starts_with(&format!("{}/auth/oidc/callback", server.base))
        })
        .expect("the provider sent the browser back");
    let session_cookie = callback
        .set_cookies
        .iter()
        .find(|c| c.starts_with("greenroom_session="))
        .expect("the callback starts a session");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(
            session_cookie.contains(attribute),
            "{attribute} in {session_cookie}"
        );
    }
    assert!(
        !session_cookie.contains("Secure"),
        "plain HTTP: {session_cookie}"
    );

    // Signed in as Maya, with her groups, transitively.
    assert!(
        body.contains("Maya Okafor") && body.contains("user:default/maya.okafor"),
        "{body}"
    );
    for group in MAYA_GROUPS {
        assert!(body.contains(group), "{group} in {body}");
    }

    // A modified or forged session cookie is nobody.
    let session = cookie_value(&jar, &server.base, "greenroom_session").expect("a session cookie");
    let mut tampered = session.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let refused = get_with_cookie(server, "/me", &format!("greenroom_session={tampered}"));
    assert_eq!(
        refused.status().as_u16(),
        303,
        "a tampered cookie is refused"
    );
    let copied = get_with_cookie(server, "/me", &format!("greenroom_session={session}"));
    assert_eq!(
        copied.status().as_u16(),
        200,
        "the real one works in another browser"
    );

    // Sign out with the page's CSRF token: the session is revoked.
    let csrf = cookie_value(&jar, &server.base, "greenroom_csrf").expect("a CSRF cookie");
    assert!(body.contains(&csrf), "the sign-out form carries the token");
    let signed_out = client
        .post(format!("{}/auth/sign-out", server.base))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .expect("the portal answers");
    assert_eq!(signed_out.status().as_u16(), 303);
    assert_eq!(location(&signed_out), "/auth/sign-in?signed-out");
    let again = client
        .get(format!("{}/me", server.base))
        .send()
        .expect("the portal answers");
    assert_eq!(again.status().as_u16(), 303, "signed out in this browser");
    let replayed = get_with_cookie(server, "/me", &format!("greenroom_session={session}"));
    assert_eq!(
        replayed.status().as_u16(),
        303,
        "and the copied cookie is worth nothing"
    );
}

#[test]
fn openid_connect_refuses_people_the_catalog_does_not_list_and_unverified_addresses() {
    let setup = oidc_setup();
    let server = &setup.server;

    // Eve's address is verified, but no User has it.
    let jar = Arc::new(Jar::default());
    let (page, _) = sign_in_as(&browser(&jar), server, "/me", "eve");
    assert_eq!(page.status().as_u16(), 403);
    let body = page.text().expect("a page");
    assert!(
        body.contains("eve@elsewhere.example signed in, but no User in the catalog matches"),
        "{body}"
    );
    assert!(cookie_value(&jar, &server.base, "greenroom_session").is_none());

    // Mallory claims Maya's address without having verified it.
    let jar = Arc::new(Jar::default());
    let (page, _) = sign_in_as(&browser(&jar), server, "/me", "mallory");
    assert_eq!(page.status().as_u16(), 403);
    let body = page.text().expect("a page");
    assert!(!body.contains("Maya Okafor"), "{body}");
    assert!(cookie_value(&jar, &server.base, "greenroom_session").is_none());

    // A callback nobody started (no pending cookie) is refused.
    let forged = get_with_cookie(server, "/auth/oidc/callback?code=stolen&state=guessed", "");
    assert_eq!(forged.status().as_u16(), 400);
}
