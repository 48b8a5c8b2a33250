//! Soundcheck (premium, `plugins/soundcheck`) through the real binary, with
//! a licence from its publisher: collectors fed over the brokered HTTP by a
//! local server answering with the recorded GitHub, SonarQube and PagerDuty
//! responses (`plugins/soundcheck/demo/upstream`), and the same collectors
//! denied by their grant; a manual check an engineer may record only on
//! what their team owns, under a policy imported with `greenroom rbac
//! import`; results a CI job pushes with an API token, the certification
//! they win and lose, and the history of it across a restart; and the
//! tech-health page and an entity's tab in headless Chromium.

use crate::browser::dump_dom;
use crate::sign_in::MAYA_EMAIL;
use crate::support::{CATALOG_TIMEOUT, Server, license, notice, run_in, write_config};
use greenroom_licensing::Day;
use greenroom_marketplace::{DEMO_PUBLISHER, DEMO_PUBLISHER_KEY};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Soundcheck's demo configuration (two tracks over catalog, GitHub,
/// SonarQube and PagerDuty facts), as `--demo` gives it.
const DEMO_CONFIG: &str = include_str!("../../plugins/soundcheck/demo/soundcheck.yaml");

/// The recorded upstream responses.
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../plugins/soundcheck/demo/upstream"
);

/// The demo organisation's catalog.
const DEMO_CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/catalog/all.yaml");

/// Lucas administers the portal (a bootstrap admin from the config).
const LUCAS_EMAIL: &str = "lucas.meyer@acme-retail.example";

/// The GitHub token the operator binds to the upstream as a host
/// credential; the plugin only names it.
const GITHUB_TOKEN: &str = "Bearer e2e-github-token-the-plugin-never-sees";

/// The CI job's API token (`[[api-tokens]]`, listed in `push-callers`).
const CI_TOKEN: &str = "e2e-ci-token-0123456789abcdef0123456789";

/// A reporting job's token: valid for Soundcheck, not listed in
/// `push-callers`.
const REPORTING_TOKEN: &str = "e2e-reporting-token-0123456789abcdef0123";

/// A small configuration of externally reported and manual checks, so
/// that levels move with what is pushed and recorded alone.
const RELEASE_CONFIG: &str = "\
collectors:
  - { id: catalog, kind: catalog }
checks:
  - id: pen-test
    name: Penetration test passed
    description: The latest external penetration test found nothing open.
    how-to-fix: Ask the security team (#security) for a new penetration test.
    external: true
  - id: load-test
    name: Load test at peak traffic
    how-to-fix: Run the `load-test` job against staging.
    external: true
  - id: threat-model
    name: Threat model reviewed
    how-to-fix: Walk through a threat model with the security team, then record it here.
    manual: { expiry-days: 180 }
tracks:
  - id: security
    name: Security
    filter: { kind: Component, lifecycle: production }
    levels:
      - { name: Bronze, checks: [pen-test] }
      - { name: Silver, checks: [load-test] }
      - { name: Gold, checks: [threat-model] }
";

/// Engineers read the whole catalog, and may record manual checks only on
/// what one of their teams owns.
const OWNERS_RECORD: &str = "\
version: 1
default-role: engineer
roles:
  - name: engineer
    description: Every signed-in engineer
    policies:
      - permission: catalog.entity.read
        effect: allow
      - permission: soundcheck.manual-check
        effect: allow
        conditions: { rule: IS_ENTITY_OWNER }
";

// ---------------------------------------------------------------------------
// A stand-in for GitHub, SonarQube and PagerDuty.

/// One request the upstream received.
#[derive(Debug, Clone)]
struct Received {
    /// Path and query, e.g. `/github/repos/acme/order-service`.
    target: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// GitHub, SonarQube and PagerDuty on a loopback port, under `/github`,
/// `/sonarqube` and `/pagerduty`, answering with the recorded responses
/// exactly as `plugins/soundcheck/demo/upstream/README.md` lays them out
/// (`<path>.json` a 200, `<path>.404.json` a recorded 404, anything else
/// the service's own not-found), and keeping every request it received.
struct Upstream {
    /// `http://127.0.0.1:<port>`.
    origin: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Upstream {
    fn start() -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || answer(&stream, &log));
            }
        });
        Upstream { origin, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }
}

fn answer(stream: &std::net::TcpStream, log: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(n) if n > 2 => {
                if let Some((name, value)) = line.trim_end().split_once(':') {
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                }
            }
            _ => break,
        }
    }
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let (status, body) = recorded(&target);
    log.lock()
        .expect("not poisoned")
        .push(Received { target, headers });
    let mut stream = stream;
    let reason = if status == 200 { "OK" } else { "Not Found" };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .and_then(|()| stream.write_all(&body));
}

/// The recorded answer to `target` (a path and query).
fn recorded(target: &str) -> (u16, Vec<u8>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_owned())
    };
    let path = path.trim_matches('/');
    // SonarQube names the project in the query; the file is named after it.
    let file = match path {
        "sonarqube/api/qualitygates/project_status" => {
            param("projectKey").map(|k| format!("{path}/{k}"))
        }
        "sonarqube/api/measures/component" => param("component").map(|k| format!("{path}/{k}")),
        _ => Some(path.to_owned()),
    };
    let safe = |file: &String| file.split('/').all(|part| !part.is_empty() && part != "..");
    if let Some(file) = file.filter(safe) {
        let read = |suffix: &str| std::fs::read(format!("{FIXTURES}/{file}{suffix}")).ok();
        if let Some(body) = read(".json") {
            return (200, body);
        }
        if let Some(body) = read(".404.json") {
            return (404, body);
        }
    }
    let generic = match path.split('/').next() {
        Some("github") => {
            r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}"#
        }
        Some("sonarqube") => r#"{"errors":[{"msg":"Component key not found"}]}"#,
        _ => r#"{"error":{"message":"Not Found","code":2100}}"#,
    };
    (404, generic.as_bytes().to_vec())
}

// ---------------------------------------------------------------------------
// The portal.

/// Soundcheck's `[plugins.settings]`: `config` as its YAML, and, with an
/// upstream, the HTTP collectors' base URLs on it (GitHub naming
/// `credential`).
fn settings(config: &str, upstream: Option<&str>, credential: Option<&str>) -> String {
    let mut toml = format!(
        "[plugins.settings]\nconfig = {}\n",
        serde_json::to_string(config).expect("a string")
    );
    if let Some(origin) = upstream {
        for service in ["github", "sonarqube", "pagerduty"] {
            toml.push_str(&format!(
                "\n[plugins.settings.collectors.{service}]\nbase-url = \"{origin}/{service}\"\n"
            ));
            if let (Some(credential), "github") = (credential, service) {
                toml.push_str(&format!("credential = \"{credential}\"\n"));
            }
        }
    }
    toml
}

/// A portal reading the demo organisation with Soundcheck licensed by its
/// publisher: `head` is TOML before everything else (`[auth]`, `[[secrets]]`,
/// `[[api-tokens]]`), `soundcheck` the rest of Soundcheck's `[[plugins]]`
/// entry (its grant and settings). Returns once the catalog is read.
fn soundcheck_portal(head: &str, soundcheck: &str) -> Server {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "{head}\n\n[[marketplace.trusted-publishers]]\nname = \"{DEMO_PUBLISHER}\"\nkey = \"{DEMO_PUBLISHER_KEY}\"\n\n\
         [[catalog.locations]]\ntype = \"file\"\ntarget = {DEMO_CATALOG:?}\n\n\
         [[plugins]]\nbundled = \"soundcheck\"\n{soundcheck}"
    );
    let file = write_config(data_dir.path(), &config);
    license(data_dir.path(), &file, "soundcheck");
    let file = file.to_str().expect("utf-8 path").to_owned();
    let server = Server::start_in(data_dir, &["--config", &file]);
    server.wait_for_catalog();
    server
}

// ---------------------------------------------------------------------------
// A browser, an API client.

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// `GET path` as `who` (see [`Server::get_as`]): the status and the body.
fn get(server: &Server, who: Option<&str>, path: &str) -> (u16, String) {
    let reply = server.get_as(who, path);
    (reply.status, reply.body)
}

/// A page that must answer 200.
fn page(server: &Server, who: Option<&str>, path: &str) -> String {
    let (status, body) = get(server, who, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// What submitting a form did: the status, and for a redirect the notice
/// on the page it led to, and that page.
struct Submitted {
    status: u16,
    notice: Option<String>,
    page: String,
}

/// Submits Soundcheck's form `action` as `who`, from the page `from` (the
/// `_return` the portal puts in every form), as a browser does.
fn submit(
    server: &Server,
    who: Option<&str>,
    action: &str,
    from: &str,
    fields: &[(&str, &str)],
) -> Submitted {
    let mut form = vec![("_return", from)];
    form.extend_from_slice(fields);
    let submitted = server.submit(who, &format!("/plugins/soundcheck/actions/{action}"), &form);
    let notice = (submitted.status == 303)
        .then(|| notice(&submitted.page).map(visible))
        .flatten();
    Submitted {
        status: submitted.status,
        notice,
        page: submitted.page,
    }
}

/// The text a person reads in `html`: tags dropped, entities decoded,
/// white space collapsed.
fn visible(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The cells after the first table cell that says exactly `first`, as a
/// person reads them: for a check on an entity's tab, its result, since
/// when and why.
fn row(html: &str, first: &str) -> Vec<String> {
    let cell = format!("<td class=\"align-start\">{first}</td>");
    let start = html
        .find(&cell)
        .unwrap_or_else(|| panic!("no row `{first}` in:\n{}", visible(html)));
    let rest = &html[start + cell.len()..];
    let end = rest.find("</tr>").expect("the row ends");
    rest[..end]
        .split("</td>")
        .map(visible)
        .filter(|c| !c.is_empty())
        .collect()
}

/// `GET /api/plugins/soundcheck/entities/<entity>` as `who`.
fn entity(server: &Server, who: Option<&str>, entity: &str) -> Value {
    let (status, body) = get(
        server,
        who,
        &format!("/api/plugins/soundcheck/entities/{entity}"),
    );
    assert_eq!(status, 200, "{entity}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The track `id` of an entity's answer.
fn track<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["tracks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no track {id}: {answer}"))
}

/// The check `id` of an entity's answer.
fn check<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {answer}"))
}

/// `GET /api/audit?<query>` with the admin token the server wrote.
fn audit(server: &Server, query: &str) -> Vec<Value> {
    let token = std::fs::read_to_string(server.data_dir.path().join("admin-token"))
        .expect("the admin token");
    let response = client()
        .get(format!("{}/api/audit?{query}", server.base))
        .bearer_auth(token.trim())
        .send()
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = serde_json::from_str(&response.text().expect("a body")).expect("JSON");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// `POST /api/plugins/soundcheck/results` with `authorization` (or none):
/// the status and the answer.
fn push(server: &Server, authorization: Option<&str>, result: &Value) -> (u16, Value) {
    let mut request = client()
        .post(format!("{}/api/plugins/soundcheck/results", server.base))
        .header("content-type", "application/json")
        .body(result.to_string());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().expect("the server answers");
    let status = response.status().as_u16();
    let body = response.text().expect("a body");
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| json!({ "body": body })),
    )
}

fn tab(name: &str) -> String {
    format!("/catalog/default/component/{name}/soundcheck/checks")
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn collectors_fed_over_granted_http_by_the_recorded_upstreams_pass_and_fail_checks_with_reasons() {
    let upstream = Upstream::start();
    let origin = upstream.origin.as_str();
    let server = soundcheck_portal(
        &format!(
            "[auth]\nguest = true\n\n[[secrets]]\nname = \"github\"\nhost = \"{origin}\"\n\
             value = \"{GITHUB_TOKEN}\"\nplugins = [\"soundcheck\"]\n"
        ),
        &format!(
            "grant = [\"all\", \"http:{origin}\"]\n\n{}",
            settings(DEMO_CONFIG, Some(origin), Some("github"))
        ),
    );

    // The guest (a bootstrap admin here) presses Collect now on the tab of
    // a service with a red build and a failing quality gate, and of an
    // exemplary one.
    for name in ["shipping-service", "order-service"] {
        let collected = submit(
            &server,
            None,
            "collect-now",
            &tab(name),
            &[("entity", &format!("component:default/{name}"))],
        );
        assert_eq!(collected.status, 303, "{}", collected.page);
        assert_eq!(
            collected.notice.as_deref(),
            Some("Collected catalog, github, sonarqube, pagerduty and evaluated the entity."),
            "{name}: {}",
            visible(&collected.page)
        );
    }

    // The tab: every check, passing and failing, since when and why.
    let shipping = page(&server, None, &tab("shipping-service"));
    let today = Day::of(SystemTime::now()).to_string();
    for (check, result, why) in [
        (
            "Latest build on the default branch is green",
            "Fail",
            "github.latest_run.conclusion is \"failure\", needs \"success\"",
        ),
        (
            "SonarQube quality gate passes",
            "Fail",
            "sonarqube.quality_gate is \"ERROR\", needs \"OK\"",
        ),
        (
            "Two approving reviews",
            "Fail",
            "github.branch_protection.required_reviews is 1, needs > 1",
        ),
        (
            "No open vulnerabilities",
            "Fail",
            "sonarqube.vulnerabilities is 1, needs < 1",
        ),
        (
            "Default branch is protected",
            "Pass",
            "github.branch_protection.enabled is true",
        ),
        (
            "PagerDuty service has an escalation policy",
            "Pass",
            "pagerduty.has_escalation_policy is true",
        ),
        (
            "Has an on-call rotation",
            "Pass",
            "catalog.has_on_call is true",
        ),
    ] {
        assert_eq!(
            row(&shipping, check),
            [result, today.as_str(), why],
            "{check}"
        );
    }
    // How to fix what fails, and only that: the next level's checks under
    // Next steps at the top, the rest under How to fix.
    let text = visible(&shipping);
    let how_to_fix = text
        .split("Next steps")
        .nth(1)
        .and_then(|rest| rest.split("Manual checks").next())
        .unwrap_or_else(|| panic!("no how-to-fix card: {text}"));
    assert!(
        how_to_fix
            .contains("Open the failing run from the entity's GitHub facts and fix the build.")
            && how_to_fix.contains("Set \"Required approving reviews\" to 2"),
        "{how_to_fix}"
    );
    assert!(
        !how_to_fix.contains("Allow force pushes"),
        "a passing check has nothing to fix: {how_to_fix}"
    );
    // The facts the collectors stored.
    for (collector, field) in [
        ("github (github)", "latest_run"),
        ("sonarqube (sonarqube)", "quality_gate"),
        ("pagerduty (pagerduty)", "has_escalation_policy"),
    ] {
        let cells = row(&shipping, collector);
        assert_eq!(cells[0], today, "{collector} collected today");
        assert!(cells[1].contains(field), "{collector}: {cells:?}");
    }

    // The API reports the levels: Silver and Bronze for the one, the top
    // of Production readiness for the exemplary one.
    let shipping = entity(&server, None, "component:default/shipping-service");
    assert_eq!(
        track(&shipping, "production-readiness")["level_name"],
        "Silver"
    );
    assert_eq!(track(&shipping, "security")["level_name"], "Bronze");
    let build = check(&shipping, "latest-build-green");
    assert_eq!(build["result"], "fail");
    assert_eq!(
        build["how_to_fix"],
        "Open the failing run from the entity's GitHub facts and fix the build."
    );
    let order = entity(&server, None, "component:default/order-service");
    assert_eq!(track(&order, "production-readiness")["level_name"], "Gold");
    assert_eq!(
        track(&order, "production-readiness")["levels"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(track(&order, "security")["level_name"], "Silver");
    assert_eq!(check(&order, "quality-gate-passing")["result"], "pass");

    // What the upstream saw: all three services asked about the entity,
    // through the broker; the GitHub token attached by the host where the
    // collector named it, and nowhere else.
    let received = upstream.received();
    let asked = |prefix: &str| -> Vec<&Received> {
        received
            .iter()
            .filter(|r| r.target.starts_with(prefix))
            .collect()
    };
    let github = asked("/github/repos/acme/shipping-service");
    assert!(github.len() >= 3, "{received:#?}");
    for request in &github {
        assert_eq!(request.header("authorization"), Some(GITHUB_TOKEN));
        assert_eq!(request.header("greenroom-credential"), None);
    }
    let sonarqube =
        asked("/sonarqube/api/qualitygates/project_status?projectKey=acme_shipping-service");
    assert_eq!(sonarqube.len(), 1, "{received:#?}");
    assert_eq!(sonarqube[0].header("authorization"), None);
    assert!(!asked("/pagerduty/services/").is_empty(), "{received:#?}");
}

#[test]
fn collectors_whose_origin_is_not_granted_say_which_grant_to_add_and_are_audited() {
    let upstream = Upstream::start();
    let origin = upstream.origin.as_str();
    // The operator pointed the collectors at an internal server but
    // granted only the public services the manifest lists.
    let server = soundcheck_portal(
        "[auth]\nguest = true\n",
        &format!(
            "grant = [\"all\"]\n\n{}",
            settings(DEMO_CONFIG, Some(origin), None)
        ),
    );

    let admin = "/plugins/soundcheck/admin";
    let run = submit(&server, None, "run-collectors", admin, &[]);
    assert_eq!(run.status, 303, "{}", run.page);
    let notice = run.notice.expect("a notice");
    let missing = format!(
        "denied by the host: this collector was not granted http:{origin}; an operator can grant it on the plugin's page"
    );
    for collector in ["github", "sonarqube", "pagerduty"] {
        assert!(
            notice.contains(&format!("{collector}: {missing}")),
            "{notice}"
        );
    }

    // The admin page's collectors say it too, after the run.
    let overview = visible(&page(&server, None, admin));
    let collectors = overview
        .split("Collectors The collect task")
        .nth(1)
        .unwrap_or_else(|| panic!("no collectors card: {overview}"));
    assert_eq!(
        collectors.matches(&missing).count(),
        3,
        "each HTTP collector's last problem: {collectors}"
    );

    // Every refused request is in the audit log, naming the origin.
    let denied = audit(
        &server,
        "plugin=soundcheck&action=http.request&decision=deny",
    );
    assert!(!denied.is_empty(), "{}", server.log());
    for entry in &denied {
        assert_eq!(entry["resource"], origin, "{entry}");
    }
    // And nothing reached the upstream.
    assert!(upstream.received().is_empty(), "{:#?}", upstream.received());
    // The entity's checks say the facts are missing rather than failing
    // silently.
    let checks = page(&server, None, &tab("order-service"));
    assert_eq!(
        row(&checks, "Two approving reviews")[2],
        "no `github` facts have been collected yet"
    );
}

#[test]
fn owners_record_a_manual_check_and_others_are_refused() {
    let server = soundcheck_portal(
        "[auth]\nadmins = [\"user:default/lucas.meyer\"]\n\n\
         [auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = [\"127.0.0.1/32\"]\n",
        &format!(
            "grant = [\"all\"]\n\n{}",
            settings(RELEASE_CONFIG, None, None)
        ),
    );
    let maya = Some(MAYA_EMAIL);
    let lucas = Some(LUCAS_EMAIL);
    // storefront-bff is Web Experience's (Maya's team), checkout-service
    // Checkout's.
    let ours = tab("storefront-bff");
    let theirs = tab("checkout-service");

    // The operator imports the policy while the portal serves.
    let dir = server.data_dir.path().to_owned();
    std::fs::write(dir.join("policy.yaml"), OWNERS_RECORD).expect("written");
    let imported = run_in(
        &dir,
        &[
            "rbac",
            "import",
            "policy.yaml",
            "--config",
            dir.join("greenroom.toml").to_str().expect("utf-8 path"),
            "--data-dir",
            dir.to_str().expect("utf-8 path"),
        ],
    );
    assert!(imported.contains("published version"), "{imported}");
    let mine = server
        .until(maya, &ours, "the policy is applied", |status, body| {
            status == 200 && body.contains("Record Threat model reviewed")
        })
        .body;
    // Never evaluated: its checks apply, they have no result yet.
    assert_eq!(row(&mine, "Threat model reviewed"), ["Not evaluated yet"]);

    // Maya records it on her team's component: accepted and shown.
    let note = "Walked through with #security; notes in the team wiki";
    let recorded = submit(
        &server,
        maya,
        "record-manual",
        &ours,
        &[
            ("entity", "component:default/storefront-bff"),
            ("check", "threat-model"),
            ("result", "pass"),
            ("note", note),
        ],
    );
    assert_eq!(recorded.status, 303, "{}", recorded.page);
    let until = Day::of(SystemTime::now()).plus_days(180).to_string();
    assert_eq!(
        recorded.notice.as_deref(),
        Some(format!("Recorded “Threat model reviewed” as passing; valid until {until}.").as_str())
    );
    let today = Day::of(SystemTime::now()).to_string();
    let reason = format!(
        "Recorded as passing by user:default/maya.okafor on {today}: {note}; valid until {until}"
    );
    assert_eq!(
        row(&recorded.page, "Threat model reviewed"),
        ["Pass", today.as_str(), reason.as_str()]
    );
    let answer = entity(&server, maya, "component:default/storefront-bff");
    assert_eq!(check(&answer, "threat-model")["result"], "pass");

    // On another team's component she gets no form, and a forged one is
    // refused with a notice saying why.
    let others = page(&server, maya, &theirs);
    assert!(!others.contains("Record Threat model reviewed"));
    assert!(
        visible(&others).contains(
            "You may not record manual checks on this entity: that needs the permission soundcheck.manual-check on it, which an admin grants (usually to its owners)."
        ),
        "{}",
        visible(&others)
    );
    let refused = submit(
        &server,
        maya,
        "record-manual",
        &theirs,
        &[
            ("entity", "component:default/checkout-service"),
            ("check", "threat-model"),
            ("result", "pass"),
            ("note", "looks fine to me"),
        ],
    );
    assert_eq!(refused.status, 303, "{}", refused.page);
    let notice = refused.notice.expect("a notice");
    assert!(
        notice.contains(
            "Not recorded: Maya Okafor may not record manual checks on component:default/checkout-service; that needs the permission soundcheck.manual-check on it, which an admin grants (usually to its owners)"
        ),
        "{notice}"
    );
    assert!(
        audit(
            &server,
            "actor=user:default/maya.okafor&action=authorize&decision=deny"
        )
        .iter()
        .any(|e| e["reason"].as_str().is_some_and(
            |r| r.contains("may not soundcheck.manual-check on component:default/checkout-service")
        )),
        "the refusal is audited"
    );

    // Nothing was recorded: evaluated by an admin, it is still missing.
    let evaluated = submit(
        &server,
        lucas,
        "evaluate-now",
        "/plugins/soundcheck/admin",
        &[],
    );
    assert!(
        evaluated
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with("Evaluated ")),
        "{}",
        visible(&evaluated.page)
    );
    let answer = entity(&server, lucas, "component:default/checkout-service");
    let threat_model = check(&answer, "threat-model");
    assert_eq!(threat_model["result"], "fail");
    assert_eq!(
        threat_model["reason"],
        "Not recorded yet: an owner records this check on the Soundcheck tab"
    );
    let answer = entity(&server, lucas, "component:default/storefront-bff");
    assert_eq!(check(&answer, "threat-model")["reason"], reason.as_str());
}

#[test]
fn results_pushed_with_an_api_token_win_and_lose_a_certification_kept_across_a_restart() {
    let head = format!(
        "[auth]\nadmins = [\"user:default/lucas.meyer\"]\n\n\
         [auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = [\"127.0.0.1/32\"]\n\n\
         [[api-tokens]]\nname = \"ci\"\nvalue = \"{CI_TOKEN}\"\nplugins = [\"soundcheck\"]\n\n\
         [[api-tokens]]\nname = \"reporting\"\nvalue = \"{REPORTING_TOKEN}\"\nplugins = [\"soundcheck\"]\n"
    );
    let server = soundcheck_portal(
        &head,
        &format!(
            "grant = [\"all\"]\n\n{}push-callers = [\"service:ci\"]\n",
            settings(RELEASE_CONFIG, None, None)
        ),
    );
    let lucas = Some(LUCAS_EMAIL);
    let bff = "component:default/storefront-bff";
    let ci = format!("Bearer {CI_TOKEN}");
    let result = |check: &str, result: &str, note: &str| json!({ "entity": bff, "check": check, "result": result, "note": note });
    let pen_test_passed = result("pen-test", "pass", "no findings");

    // Nobody, a wrong token, a token not listed in push-callers, a user
    // without soundcheck.admin: refused, and nothing recorded.
    let (status, body) = push(&server, None, &pen_test_passed);
    assert_eq!(status, 401, "{body}");
    let (status, body) = push(
        &server,
        Some("Bearer not-a-token-this-portal-issued-0000"),
        &pen_test_passed,
    );
    assert_eq!(status, 401, "{body}");
    assert!(
        !audit(&server, "plugin=soundcheck&action=api.token&decision=deny").is_empty(),
        "a wrong token is audited"
    );
    let (status, body) = push(
        &server,
        Some(&format!("Bearer {REPORTING_TOKEN}")),
        &pen_test_passed,
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        "caller `service:reporting` may not push to Soundcheck; an operator adds it to the plugin's `push-callers` setting"
    );
    let response = client()
        .post(format!("{}/api/plugins/soundcheck/results", server.base))
        .header("X-Forwarded-Email", MAYA_EMAIL)
        .header("content-type", "application/json")
        .body(pen_test_passed.to_string())
        .send()
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 403);
    assert!(
        response.text().unwrap().contains("soundcheck.admin"),
        "says which permission"
    );
    assert_eq!(
        entity(&server, lucas, bff)["evaluated"],
        false,
        "nothing was recorded"
    );

    // CI reports: the penetration test passes (Bronze), then the load test
    // (Silver), then a new penetration test fails (Silver lost).
    let mut levels = Vec::new();
    for pushed in [
        pen_test_passed.clone(),
        result("load-test", "pass", "p99 180 ms at 3x peak"),
        result("pen-test", "fail", "2 high findings"),
    ] {
        let (status, body) = push(&server, Some(&ci), &pushed);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["applies"], true, "{body}");
        assert!(body["changes"].as_u64() > Some(0), "{body}");
        let security = track(&entity(&server, lucas, bff), "security").clone();
        levels.push(security["level_name"].as_str().unwrap_or("none").to_owned());
        if levels.len() == 2 {
            assert!(security["certified_since_ms"].is_u64(), "{security}");
        }
    }
    assert_eq!(levels, ["Bronze", "Silver", "none"]);
    let security = track(&entity(&server, lucas, bff), "security").clone();
    assert_eq!(security["level"], 0);
    assert_eq!(security["lost"]["level_name"], "Silver");
    assert_eq!(security["lost"]["because"], json!(["pen-test"]));
    let today = Day::of(SystemTime::now()).to_string();
    let lost = format!("Lost Silver on {today} because Penetration test passed started failing.");
    let before = visible(&page(&server, lucas, &tab("storefront-bff")));
    assert!(before.contains(&lost), "{before}");

    // Restarted on the same data directory: the certification lost and
    // every change before it are still there.
    let config = server.data_dir.path().join("greenroom.toml");
    let config = config.to_str().expect("utf-8 path").to_owned();
    let server = Server::start_in(server.stop(), &["--config", &config]);
    server.wait_for_catalog();
    let security = track(&entity(&server, lucas, bff), "security").clone();
    assert_eq!(security["level"], 0);
    assert_eq!(security["lost"]["level_name"], "Silver");
    let after = page(&server, lucas, &tab("storefront-bff"));
    let text = visible(&after);
    assert!(text.contains(&lost), "{text}");
    let history = text
        .split("Every change of a result or level")
        .nth(1)
        .and_then(|rest| rest.split("Facts What the collectors know").next())
        .unwrap_or_else(|| panic!("no history: {text}"));
    for change in [
        "Security No level lost Silver because pen-test started failing",
        "Penetration test passed Fail Reported as failing by service:ci",
        "Security Silver reached Silver",
        "Load test at peak traffic Pass Reported as passing by service:ci",
        "Security Bronze reached Bronze",
        "Penetration test passed Pass Reported as passing by service:ci",
    ] {
        assert!(
            history.contains(change),
            "`{change}` in the history: {history}"
        );
    }

    // And CI carries on where it left off.
    let (status, body) = push(&server, Some(&ci), &result("pen-test", "pass", "retested"));
    assert_eq!(status, 200, "{body}");
    let security = track(&entity(&server, lucas, bff), "security").clone();
    assert_eq!(security["level_name"], "Silver");
    assert!(security["lost"].is_null(), "regained: {security}");
}

#[test]
fn chromium_renders_the_tech_health_page_and_an_entity_tab_of_the_demo() {
    let server = Server::start(&["--demo"]);
    // `--demo` collects and evaluates once the demo catalog is in.
    let started = Instant::now();
    while !get(&server, None, "/plugins/soundcheck")
        .1
        .contains("Entities evaluated")
    {
        assert!(
            started.elapsed() < CATALOG_TIMEOUT,
            "Soundcheck never evaluated the demo: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let health = dump_dom(&format!("{}/plugins/soundcheck", server.base));
    assert!(
        !health.contains("error-state") && !health.contains("licence-state"),
        "the page, not an error or a licence card: {health}"
    );
    let text = visible(&health);
    for expected in [
        "Tech health",
        "Production readiness: certified",
        "Security: certified",
        "Certified: an entity holds at least the track's first level",
        "Entities by level",
        "Teams by: lagging first name most entities",
        "Worst checks",
        "On call for everything in production",
        "team-web",
    ] {
        assert!(text.contains(expected), "`{expected}` in: {text}");
    }
    // Each worst check links to the entities failing it.
    let check_link = health
        .split("href=\"/plugins/soundcheck/checks/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a worst check links to its page: {health}"));
    let check_page = dump_dom(&format!(
        "{}/plugins/soundcheck/checks/{check_link}",
        server.base
    ));
    let text = visible(&check_page);
    assert!(text.contains("Failing on "), "{text}");
    assert!(
        check_page.contains("href=\"/catalog/default/component/"),
        "the failing entities link to their tabs: {check_page}"
    );

    // The entity page links to its Soundcheck tab, which shows every
    // check.
    let overview = dump_dom(&format!(
        "{}/catalog/default/component/shipping-service",
        server.base
    ));
    assert!(
        overview.contains(&format!("href=\"{}\"", tab("shipping-service"))),
        "{overview}"
    );
    let checks = dump_dom(&format!("{}{}", server.base, tab("shipping-service")));
    assert!(
        !checks.contains("error-state") && !checks.contains("licence-state"),
        "the tab, not an error or a licence card: {checks}"
    );
    assert_eq!(
        row(&checks, "Latest build on the default branch is green")[0],
        "Fail"
    );
    assert_eq!(row(&checks, "Has an owner")[0], "Pass");
    let text = visible(&checks);
    for expected in [
        "Production readiness Silver",
        "Security Bronze",
        // What to fix first, at the top: the next level's failing checks,
        // each with why and how.
        "Next steps",
        "To reach Gold in Production readiness, fix",
        "To reach Silver in Security, fix",
        "Why: ",
        "Record Threat model reviewed this half-year",
        "History",
    ] {
        assert!(text.contains(expected), "`{expected}` in: {text}");
    }
}

/// One sound track over an externally reported check, and one whose level
/// names a check nobody defined.
const PARTLY_BROKEN_CONFIG: &str = "\
collectors:
  - { id: catalog, kind: catalog }
checks:
  - { id: load-test, name: Load test at peak traffic, external: true }
tracks:
  - id: performance
    name: Performance
    levels: [{ name: Bronze, checks: [load-test] }]
  - id: broken
    name: Broken track
    levels: [{ name: Bronze, checks: [nope] }]
";

#[test]
fn a_broken_track_stops_nothing_else_and_a_check_a_track_still_names_is_not_deleted() {
    let server = soundcheck_portal(
        "[auth]\nguest = true\n",
        &format!(
            "grant = [\"all\"]\n\n{}",
            settings(PARTLY_BROKEN_CONFIG, None, None)
        ),
    );
    let admin = "/plugins/soundcheck/admin";
    let evaluated = submit(&server, None, "evaluate-now", admin, &[]);
    assert!(
        evaluated
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with("Evaluated ")),
        "the sound track is evaluated: {}",
        visible(&evaluated.page)
    );

    // The tech-health page, in a browser, shows the sound track and lists
    // the broken one's problem (the guest is an admin here) with its line.
    let health = dump_dom(&format!("{}/plugins/soundcheck", server.base));
    assert!(
        !health.contains("error-state"),
        "the page renders: {health}"
    );
    let text = visible(&health);
    for expected in [
        "Soundcheck's configuration has problems",
        "The items named are set aside",
        "config line 11 column 39: track `broken`, level `Bronze`: unknown check `nope`",
        "Entities evaluated",
        "Performance: certified",
    ] {
        assert!(text.contains(expected), "`{expected}` in: {text}");
    }
    assert!(!text.contains("Broken track: certified"), "{text}");
    // Entity pages show Soundcheck's card, not an error box.
    let overview = page(&server, None, "/catalog/default/component/shipping-service");
    assert!(
        !visible(&overview).contains("could not be shown"),
        "{}",
        visible(&overview)
    );

    // An admin adds a check and a track that names it.
    let added = submit(
        &server,
        None,
        "admin-save",
        &format!("{admin}/checks/+new"),
        &[
            ("section", "checks"),
            ("new", "true"),
            ("id", "pen-test"),
            ("name", "Penetration test passed"),
            ("decided-by", "external"),
        ],
    );
    assert_eq!(added.status, 303, "{}", visible(&added.page));
    let added = submit(
        &server,
        None,
        "admin-save",
        &format!("{admin}/tracks/+new"),
        &[
            ("section", "tracks"),
            ("new", "true"),
            ("id", "security"),
            ("name", "Security"),
            ("levels", "Bronze: pen-test"),
        ],
    );
    assert_eq!(added.status, 303, "{}", visible(&added.page));

    // Deleting the check the track names is refused, naming the track,
    // confirmed or not; nothing is removed.
    let check_page = format!("{admin}/checks/pen-test");
    let delete = |confirm: bool| {
        let mut fields = vec![("section", "checks"), ("id", "pen-test")];
        if confirm {
            fields.push(("confirm", "true"));
        }
        submit(&server, None, "admin-reset", &check_page, &fields)
    };
    let unconfirmed = visible(&delete(false).page);
    assert!(
        unconfirmed.contains("Nothing was changed: tick the box to confirm"),
        "{unconfirmed}"
    );
    let refused = visible(&delete(true).page);
    assert!(
        refused.contains(
            "Not removed: the rest of the configuration still needs check `pen-test` (track `security`, level `Bronze`: unknown check `pen-test`"
        ),
        "{refused}"
    );
    let checks = visible(&page(&server, None, &format!("{admin}/checks")));
    assert!(
        checks.contains("pen-test Penetration test passed"),
        "{checks}"
    );

    // Once the track is gone, the check can go too.
    let track_gone = submit(
        &server,
        None,
        "admin-reset",
        &format!("{admin}/tracks/security"),
        &[
            ("section", "tracks"),
            ("id", "security"),
            ("confirm", "true"),
        ],
    );
    assert_eq!(track_gone.status, 303, "{}", visible(&track_gone.page));
    let deleted = delete(true);
    assert_eq!(deleted.status, 303, "{}", visible(&deleted.page));
    let checks = visible(&page(&server, None, &format!("{admin}/checks")));
    assert!(!checks.contains("pen-test"), "{checks}");
}
