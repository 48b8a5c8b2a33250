//! Soundcheck's HTTP collectors against the real host: fed over real HTTP,
//! through the broker, by the demo upstream's recorded GitHub, SonarQube
//! and PagerDuty responses; and denied by their grant, with a message that
//! says what to grant.

use crate::support::{Server, notice, write_config};
use serde_json::Value;

/// Soundcheck's demo configuration, as `--demo` gives it.
const DEMO_CONFIG: &str = include_str!("../../plugins/soundcheck/demo/soundcheck.yaml");

/// Presses "Collect now" on `entity`'s Soundcheck tab as the guest, and
/// returns the notice the page it leads to shows.
fn collect_now(server: &Server, entity: &str) -> String {
    let collected = server.submit(
        None,
        "/plugins/soundcheck/actions/collect-now",
        &[("entity", entity)],
    );
    assert_eq!(collected.status, 303, "{}", server.log());
    notice(&collected.page)
        .unwrap_or_else(|| panic!("no notice after collecting {entity}: {}", collected.page))
        .to_owned()
}

/// The result of check `id` on `entity`, and its reason.
fn check(server: &Server, entity: &str, id: &str) -> (String, String) {
    let reply = server.get(&format!("/api/plugins/soundcheck/entities/{entity}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results: Value = serde_json::from_str(&reply.body).expect("JSON");
    let check = results["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{entity} has no check {id}: {}", reply.body));
    (
        check["result"].as_str().unwrap_or_default().to_owned(),
        check["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn collectors_fed_by_the_demo_upstream_turn_recorded_responses_into_results() {
    let server = Server::start(&["--demo"]);
    server.wait_for("/catalog/default/component/shipping-service");
    assert!(
        server.log().contains("demo upstream"),
        "the demo upstream starts: {}",
        server.log()
    );

    let notice = collect_now(&server, "component:default/order-service");
    for collector in ["github", "sonarqube", "pagerduty"] {
        assert!(notice.contains(collector), "{notice}");
    }
    assert!(!notice.contains("Problems"), "{notice}");
    assert_eq!(
        check(&server, "component:default/order-service", "two-reviewers").0,
        "pass"
    );
    assert_eq!(
        check(
            &server,
            "component:default/order-service",
            "quality-gate-passing"
        )
        .0,
        "pass"
    );

    collect_now(&server, "component:default/shipping-service");
    let (result, reason) = check(
        &server,
        "component:default/shipping-service",
        "latest-build-green",
    );
    assert_eq!(result, "fail");
    assert!(reason.contains("\"failure\""), "{reason}");

    // A recorded 404: the repository no longer exists.
    let notice = collect_now(&server, "component:default/legacy-billing-adapter");
    assert!(
        notice.contains(
            "GitHub answered 404 for repos/acme/legacy-billing-adapter: the repository does not exist or the token cannot see it"
        ),
        "{notice}"
    );
}

#[test]
fn a_collector_denied_by_its_grant_says_what_to_grant() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    // Granted no HTTP of its own: only the demo upstream's origin, which
    // `--demo` adds. GitHub stays pointed at api.github.com.
    let config = format!(
        "[[plugins]]\nbundled = \"soundcheck\"\ngrant = [\"catalog:read\", \"storage\"]\n\n\
         [plugins.settings]\nconfig = {}\n\n\
         [plugins.settings.collectors.github]\nbase-url = \"https://api.github.com\"\n",
        serde_json::to_string(DEMO_CONFIG).expect("a string")
    );
    let file = write_config(data_dir.path(), &config);
    let file = file.to_str().expect("utf-8 path").to_owned();
    let server = Server::start_in(data_dir, &["--demo", "--config", &file]);
    server.wait_for("/catalog/default/component/order-service");

    let notice = collect_now(&server, "component:default/order-service");
    // (The page escapes the apostrophe of "plugin's page".)
    assert!(
        notice.contains(
            "this collector was not granted http:api.github.com; an operator can grant it on the plugin"
        ),
        "{notice}"
    );
    // The others go to the demo upstream, granted as an origin the
    // operator adds.
    assert!(notice.contains("sonarqube"), "{notice}");
    let (result, _) = check(&server, "component:default/order-service", "two-reviewers");
    assert_eq!(result, "fail", "no GitHub facts");
}
