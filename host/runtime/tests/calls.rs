//! The runtime against real components built from this repository: the
//! hello example and the hostile test plugins in `tests/plugins/`.

use greenroom_access::{AuditLog, Identity};
use greenroom_artifacts as artifacts;
use greenroom_broker::{Egress, PluginEnv};
use greenroom_contract::Grant;
use greenroom_contract::{Artifact, ArtifactError, SlotKind};
use greenroom_runtime::types::{Entity, HostError, PluginError};
use greenroom_runtime::view::{NodeKind, View};
use greenroom_runtime::{
    CallContext, CallError, FailureKind, Limits, LoadError, LoadedPlugin, Runtime, RuntimeConfig,
};
use greenroom_store::Database;
use std::sync::OnceLock;
use std::time::Duration;

/// One runtime and one compile cache for every test in this file, so each
/// component is compiled once.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<(tempfile::TempDir, Runtime)> = OnceLock::new();
    &RUNTIME
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let config = RuntimeConfig {
                cache_dir: Some(dir.path().to_owned()),
                ..RuntimeConfig::default()
            };
            let runtime = Runtime::new(config).expect("runtime starts");
            (dir, runtime)
        })
        .1
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Database,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("greenroom.db")).expect("database opens");
    Fixture { _dir: dir, db }
}

fn test_limits() -> Limits {
    Limits {
        memory: 32 << 20,
        render_deadline: Duration::from_millis(300),
        ..Limits::default()
    }
}

fn hello_bytes() -> Vec<u8> {
    artifacts::bundled("hello")
        .expect("hello is bundled")
        .bytes
        .to_vec()
}

fn load_with(
    fixture: &Fixture,
    bytes: Vec<u8>,
    grant: impl FnOnce(&Artifact) -> Grant,
) -> LoadedPlugin {
    load_configured(fixture, bytes, grant, Egress::default(), test_limits())
}

/// Loads `bytes` with everything it asks for granted, under `limits`.
fn load_limited(fixture: &Fixture, bytes: Vec<u8>, limits: Limits) -> LoadedPlugin {
    load_configured(
        fixture,
        bytes,
        |artifact| Grant::all_requested(artifact.manifest()),
        Egress::default(),
        limits,
    )
}

/// What every `load*` above comes down to: the grant, the operator's
/// egress settings and the limits, with default settings.
fn load_configured(
    fixture: &Fixture,
    bytes: Vec<u8>,
    grant: impl FnOnce(&Artifact) -> Grant,
    egress: Egress,
    limits: Limits,
) -> LoadedPlugin {
    let artifact = Artifact::from_bytes(bytes).expect("artifact is valid");
    let manifest = artifact.manifest().clone();
    let settings = manifest
        .resolve_settings(&serde_json::json!({}))
        .expect("default settings are valid");
    let env =
        PluginEnv::new(&manifest, grant(&artifact), settings, &fixture.db).with_egress(egress);
    runtime().load(artifact, env, limits).expect("plugin loads")
}

fn load(fixture: &Fixture, bytes: Vec<u8>) -> LoadedPlugin {
    load_with(fixture, bytes, |artifact| {
        Grant::all_requested(artifact.manifest())
    })
}

fn test_plugin(path: &str) -> Vec<u8> {
    std::fs::read(path).expect("test plugin was built")
}

fn widget(plugin: &LoadedPlugin) -> greenroom_contract::SlotDecl {
    plugin
        .manifest()
        .slots_of(SlotKind::HomeWidget)
        .next()
        .expect("has a home widget")
        .clone()
}

fn guest() -> CallContext {
    CallContext::for_user(Identity::guest())
}

/// Loads a test plugin and draws its home widget once, for the guest.
async fn render_widget_of(component: &str) -> Result<View, CallError> {
    let fixture = fixture();
    let plugin = load(&fixture, test_plugin(component));
    render_widget(&plugin).await
}

/// Draws `plugin`'s home widget once, for the guest.
async fn render_widget(plugin: &LoadedPlugin) -> Result<View, CallError> {
    plugin.render(&widget(plugin), &guest()).await
}

fn texts(view: &View) -> Vec<String> {
    view.nodes
        .iter()
        .filter_map(|node| match &node.kind {
            NodeKind::Text(text) => Some(text.text.clone()),
            NodeKind::Stat(stat) => Some(format!("{}: {}", stat.label, stat.value)),
            _ => None,
        })
        .collect()
}

// Every hostile test plugin must be used by a test below.
macro_rules! assert_test_plugin_is_used {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}
artifacts::foreach_test_plugin!(assert_test_plugin_is_used);

#[tokio::test]
async fn hello_greets_the_user_and_counts_views_across_calls() {
    let fixture = fixture();
    let hello = load(&fixture, hello_bytes());
    let slot = widget(&hello);
    let first = hello.render(&slot, &guest()).await.expect("renders");
    assert!(
        texts(&first).contains(&"Hello, Guest!".to_owned()),
        "{:?}",
        texts(&first)
    );
    assert!(
        texts(&first).contains(&"Views of this widget: 1".to_owned()),
        "{:?}",
        texts(&first)
    );
    let second = hello.render(&slot, &guest()).await.expect("renders again");
    assert!(
        texts(&second).contains(&"Views of this widget: 2".to_owned()),
        "{:?}",
        texts(&second)
    );
    assert_eq!(hello.health().calls, 2);
    assert_eq!(hello.health().total_failures(), 0);
}

#[tokio::test]
async fn hello_draws_an_entity_card_for_the_entity_on_the_page() {
    let fixture = fixture();
    let hello = load(&fixture, hello_bytes());
    let slot = hello
        .manifest()
        .slot(SlotKind::EntityCard, "about")
        .expect("declares an entity card")
        .clone();
    let entity = Entity {
        ref_: "component:default/payments-api".into(),
        kind: "Component".into(),
        namespace: "default".into(),
        name: "payments-api".into(),
        title: None,
        description: None,
        owner: Some("group:default/payments".into()),
        spec_type: Some("service".into()),
        lifecycle: Some("production".into()),
        tags: vec![],
        labels: vec![],
        annotations: vec![],
        relations: vec![],
        json: "{}".into(),
    };
    let cx = CallContext {
        entity: Some(entity),
        ..guest()
    };
    let view = hello.render(&slot, &cx).await.expect("renders");
    let NodeKind::Card(card) = &view.nodes[0].kind else {
        panic!("root is a card: {view:?}")
    };
    assert_eq!(card.title.as_deref(), Some("Hello from payments-api"));
    let NodeKind::Properties(properties) = &view.nodes[1].kind else {
        panic!("properties: {view:?}")
    };
    assert!(format!("{properties:?}").contains("group:default/payments"));
}

#[tokio::test]
async fn settings_reach_the_plugin() {
    let fixture = fixture();
    let artifact = Artifact::from_bytes(hello_bytes()).expect("valid");
    let manifest = artifact.manifest().clone();
    let settings = manifest
        .resolve_settings(&serde_json::json!({ "greeting": "Hej" }))
        .expect("valid settings");
    let env = PluginEnv::new(
        &manifest,
        Grant::all_requested(&manifest),
        settings,
        &fixture.db,
    );
    let hello = runtime().load(artifact, env, test_limits()).expect("loads");
    let view = render_widget(&hello).await.expect("renders");
    assert!(
        texts(&view).contains(&"Hej, Guest!".to_owned()),
        "{:?}",
        texts(&view)
    );
}

#[tokio::test]
async fn a_plugin_without_the_storage_grant_is_denied_and_the_denial_audited() {
    let fixture = fixture();
    let hello = load_with(&fixture, hello_bytes(), |_| Grant::none());
    let err = render_widget(&hello).await.unwrap_err();
    assert!(
        matches!(&err, CallError::Plugin(PluginError::Host(HostError::Denied(m))) if m.contains("storage")),
        "{err:?}"
    );
    assert_eq!(err.kind(), FailureKind::Denied);
    let audit = AuditLog::new(fixture.db.clone())
        .recent(Some("hello"), 10)
        .expect("audit log reads");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "storage.increment");
    assert_eq!(audit[0].actor.as_deref(), Some("user:default/guest"));
}

#[tokio::test]
async fn failures_do_not_affect_the_next_call_or_other_plugins() {
    let fixture = fixture();
    let spin = load(&fixture, test_plugin(artifacts::SPIN_COMPONENT));
    let hog = load(&fixture, test_plugin(artifacts::HOG_COMPONENT));
    let hello = load(&fixture, hello_bytes());
    let (spin_slot, hog_slot, hello_slot, cx) =
        (widget(&spin), widget(&hog), widget(&hello), guest());
    let (spun, hogged, greeted) = tokio::join!(
        spin.render(&spin_slot, &cx),
        hog.render(&hog_slot, &cx),
        hello.render(&hello_slot, &cx)
    );
    assert!(spun.is_err() && hogged.is_err());
    assert!(greeted.is_ok(), "{greeted:?}");
    assert!(hello.render(&hello_slot, &cx).await.is_ok());
}

#[test]
fn a_restart_loads_compiled_components_from_the_cache() {
    let cache = tempfile::tempdir().expect("temp dir");
    let fixture = fixture();
    for expect_hit in [false, true] {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_owned()),
            ..RuntimeConfig::default()
        })
        .expect("runtime starts");
        let artifact = Artifact::from_bytes(hello_bytes()).expect("valid");
        let env = PluginEnv::new(
            artifact.manifest(),
            Grant::none(),
            serde_json::json!({}),
            &fixture.db,
        );
        let plugin = runtime.load(artifact, env, test_limits()).expect("loads");
        assert_eq!(plugin.loaded_from_cache(), expect_hit);
    }
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .expect("cache dir")
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one compiled component, no temp files left behind"
    );
}

mod static_state {
    use super::*;

    #[tokio::test]
    async fn every_call_gets_a_fresh_instance() {
        let fixture = fixture();
        let plugin = load(&fixture, test_plugin(artifacts::STATIC_STATE_COMPONENT));
        let slot = widget(&plugin);
        for user in ["user:default/alice", "user:default/bob"] {
            let cx = CallContext::for_user(Identity {
                entity_ref: user.into(),
                ..Identity::guest()
            });
            let view = plugin.render(&slot, &cx).await.expect("renders");
            assert_eq!(
                texts(&view),
                vec![format!("calls seen by this instance: 1; user: {user}")]
            );
        }
    }
}

/// Two versions of one plugin (the marketplace tests upgrade between them):
/// the same id, each saying which version serves; the second asks for the
/// catalog, and gets `denied` when granted only what the first had.
mod upgrade_v1 {
    use super::*;

    #[tokio::test]
    async fn version_one_serves_without_the_catalog() {
        let fixture = fixture();
        let plugin = load(&fixture, test_plugin(artifacts::UPGRADE_V1_COMPONENT));
        let view = render_widget(&plugin).await.expect("renders");
        assert_eq!(
            texts(&view),
            ["test-upgrade 1.0.0 serving; catalog: denied"]
        );
    }
}

mod upgrade_v2 {
    use super::*;

    #[tokio::test]
    async fn version_two_reads_the_catalog_only_when_granted() {
        let fixture = fixture();
        let bytes = test_plugin(artifacts::UPGRADE_V2_COMPONENT);
        let granted = load(&fixture, bytes.clone());
        assert_eq!(granted.manifest().id.as_str(), "test-upgrade");
        let view = render_widget(&granted).await.expect("renders");
        assert_eq!(
            texts(&view),
            ["test-upgrade 2.0.0 serving; catalog: granted"]
        );
        let partial = load_with(&fixture, bytes, |artifact| {
            Grant::select(artifact.manifest(), &["storage".to_owned()]).expect("a valid grant")
        });
        let view = render_widget(&partial).await.expect("renders");
        assert_eq!(
            texts(&view),
            ["test-upgrade 2.0.0 serving; catalog: denied"]
        );
    }
}

mod probe {
    use super::*;
    use greenroom_runtime::Scheduler;
    use std::sync::Arc;

    fn line<'a>(lines: &'a [String], prefix: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in {lines:?}"))
    }

    /// The probe carries on after its ungranted request is denied (how
    /// the rest of its render goes is the other tests' business).
    #[tokio::test]
    async fn a_call_that_carries_on_after_a_denial_counts_as_denied_not_failed() {
        let fixture = fixture();
        let probe = load(&fixture, test_plugin(artifacts::PROBE_COMPONENT));
        let _ = render_widget(&probe).await;
        let health = probe.health();
        assert_eq!(
            (
                health.calls,
                health.denied_calls,
                health.failures_of(FailureKind::Denied)
            ),
            (1, 1, 0)
        );
    }

    #[tokio::test]
    async fn cannot_reach_files_environment_sockets_or_ungranted_hosts() {
        let fixture = fixture();
        let probe = load(&fixture, test_plugin(artifacts::PROBE_COMPONENT));
        let view = render_widget(&probe).await.expect("renders");
        let lines = texts(&view);
        assert!(
            line(&lines, "files: ").starts_with("files: refused"),
            "{lines:?}"
        );
        assert!(
            line(&lines, "/etc/passwd: ").starts_with("/etc/passwd: refused"),
            "{lines:?}"
        );
        assert_eq!(line(&lines, "environment: "), "environment: 0 variables");
        assert!(
            line(&lines, "tcp: ").starts_with("tcp: refused"),
            "{lines:?}"
        );
        let ungranted = line(&lines, "http ungranted: ");
        assert!(ungranted.contains("HttpRequestDenied"), "{ungranted}");
        let granted = line(&lines, "http granted: ");
        assert!(
            granted.starts_with("http granted: refused") && granted.contains("DnsError"),
            "a granted host is looked up (and, having no address, not reached): {granted}"
        );
        let audit = AuditLog::new(fixture.db.clone())
            .recent(Some("test-probe"), 10)
            .expect("audit log reads");
        assert_eq!(
            audit.len(),
            1,
            "only the ungranted request is a denial: {audit:?}"
        );
        assert_eq!(
            (audit[0].action.as_str(), audit[0].resource.as_deref()),
            ("http.request", Some("example.com"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn scheduled_tasks_run_once_per_interval() {
        let fixture = fixture();
        let probe = Arc::new(load(&fixture, test_plugin(artifacts::PROBE_COMPONENT)));
        let scheduler = Scheduler::start(std::slice::from_ref(&probe));
        assert_eq!(scheduler.len(), 1);
        // Three intervals of one minute, and a little.
        tokio::time::sleep(Duration::from_secs(3 * 60 + 5)).await;
        drop(scheduler);
        // Read from the store, not by rendering: the clock is paused, and a
        // render's outbound request would wait on real I/O while tokio
        // jumps the clock past the render's deadline.
        let ticks = greenroom_store::PluginStore::new(fixture.db.clone(), "test-probe", 4096)
            .get("ticks")
            .expect("storage reads");
        assert_eq!(ticks.as_deref(), Some(&b"3"[..]));
    }
}

mod premium {
    use super::*;

    // Licences are the portal's decision (it never calls an unlicensed
    // premium plugin; tests/e2e/licence.rs): the runtime runs what it is
    // given, and the manifest says which plugins need one.
    #[tokio::test]
    async fn the_runtime_reads_the_tier_and_leaves_licences_to_the_portal() {
        let fixture = fixture();
        let plugin = load(&fixture, test_plugin(artifacts::PREMIUM_COMPONENT));
        assert_eq!(plugin.manifest().tier, greenroom_contract::Tier::Premium);
        let view = render_widget(&plugin).await.expect("renders");
        assert!(texts(&view).contains(&"premium notes: 0".to_owned()));
    }
}

mod trap {
    use super::*;

    #[tokio::test]
    async fn fails_with_its_panic_message() {
        let fixture = fixture();
        let plugin = load(&fixture, test_plugin(artifacts::TRAP_COMPONENT));
        let err = render_widget(&plugin).await.unwrap_err();
        let CallError::Trap { message } = &err else {
            panic!("expected a trap, got {err:?}")
        };
        assert!(
            message.contains("boom: the trap plugin always panics"),
            "{message}"
        );
        assert_eq!(plugin.health().failures[0], (FailureKind::Trap, 1));
    }

    #[tokio::test]
    async fn its_health_keeps_the_failure_with_the_call_that_failed() {
        let fixture = fixture();
        let plugin = load(&fixture, test_plugin(artifacts::TRAP_COMPONENT));
        let _ = render_widget(&plugin).await;
        let health = plugin.health();
        let last = health.last_failure().expect("a failure is kept");
        assert_eq!(
            (last.call, last.kind),
            (greenroom_runtime::CallKind::Render, FailureKind::Trap)
        );
        assert!(last.message.contains("boom"), "{}", last.message);
        assert_eq!(health.by_call[0].durations.count(), 1);
        assert!(health.durations.percentile(0.99).is_some());
    }
}

mod spin {
    use super::*;

    #[tokio::test]
    async fn is_stopped_at_its_deadline() {
        let err = render_widget_of(artifacts::SPIN_COMPONENT)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            CallError::Deadline {
                deadline: test_limits().render_deadline
            }
        );
        assert!(
            err.to_string().contains("did not finish within 300 ms"),
            "{err}"
        );
    }
}

mod hog {
    use super::*;

    #[tokio::test]
    async fn is_stopped_at_its_memory_limit() {
        let err = render_widget_of(artifacts::HOG_COMPONENT)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CallError::Memory { limit } if limit == "32.0 MiB"),
            "{err:?}"
        );
    }
}

mod xss {
    use super::*;

    #[tokio::test]
    async fn markup_comes_back_as_data_for_the_portal_to_escape() {
        let view = render_widget_of(artifacts::XSS_COMPONENT)
            .await
            .expect("a view full of markup is still a valid view");
        assert!(
            texts(&view).iter().any(|t| t.contains("<script>")),
            "the runtime passes strings through; the portal escapes them"
        );
    }
}

mod not_a_plugin {
    use super::*;

    #[test]
    fn is_refused_as_not_a_greenroom_plugin() {
        let err = Artifact::from_bytes(test_plugin(artifacts::NOT_A_PLUGIN_COMPONENT)).unwrap_err();
        assert_eq!(err, ArtifactError::MissingSection("greenroom:wit-version"));
        assert!(err.to_string().contains("not a Greenroom plugin"), "{err}");
    }

    #[test]
    fn is_refused_at_load_when_it_fakes_the_sections() {
        // The command component pretends to be a plugin: the sections of
        // hello, the code of a WASI command.
        let command = test_plugin(artifacts::NOT_A_PLUGIN_COMPONENT);
        let mut bytes = command.clone();
        for (name, data) in [
            ("greenroom:wit-version", "0.1.0"),
            (
                "greenroom:manifest",
                "id = \"impostor\"\nname = \"I\"\nversion = \"1.0.0\"\ntier = \"open\"\n",
            ),
        ] {
            append_custom_section(&mut bytes, name, data.as_bytes());
        }
        let artifact = Artifact::from_bytes(bytes).expect("the sections are valid");
        let fixture = fixture();
        let env = PluginEnv::new(
            artifact.manifest(),
            Grant::none(),
            serde_json::json!({}),
            &fixture.db,
        );
        let err = runtime()
            .load(artifact, env, test_limits())
            .err()
            .expect("load fails");
        assert!(matches!(err, LoadError::Exports(_)), "{err:?}");
        assert!(err.to_string().contains("render"), "{err}");
    }
}

mod wrong_wit {
    use super::*;

    #[test]
    fn is_refused_naming_the_versions() {
        let err = Artifact::from_bytes(test_plugin(artifacts::WRONG_WIT_COMPONENT)).unwrap_err();
        assert!(
            matches!(err, ArtifactError::UnsupportedWitVersion(_)),
            "{err:?}"
        );
        assert!(err.to_string().contains("greenroom:plugin@9.0.0"), "{err}");
        assert!(err.to_string().contains("supports 0.1.0"), "{err}");
    }
}

mod bad_manifest {
    use super::*;

    #[test]
    fn is_refused_naming_the_field() {
        let err = Artifact::from_bytes(test_plugin(artifacts::BAD_MANIFEST_COMPONENT)).unwrap_err();
        assert!(
            matches!(err, ArtifactError::Manifest(ref m) if m.field == "tier"),
            "{err:?}"
        );
        assert!(err.to_string().contains("gold"), "{err}");
    }
}

/// The outbound HTTP broker against a plugin that tries every way out of
/// its grant, and the fixture origin it is granted by address.
#[path = "../../../tests/fixtures/origin.rs"]
mod origin;

mod http_hostile {
    use super::*;
    use crate::origin;
    use greenroom_broker::Credential;
    use greenroom_runtime::HttpLimits;
    use greenroom_runtime::types::{Method, Request};

    /// The plugin granted everything it asks for, with the `origin`
    /// credential (bound to the fixture origin) and the `github` one
    /// (bound to api.github.com), 20 requests a call and 1 MiB a response.
    fn load_hostile(fixture: &Fixture, render_deadline: Duration) -> LoadedPlugin {
        origin::start();
        let credentials = vec![
            Credential::new(
                "origin",
                origin::ORIGIN,
                "authorization",
                origin::ORIGIN_TOKEN,
            )
            .expect("valid credential"),
            Credential::new(
                "github",
                "api.github.com",
                "authorization",
                "Bearer ghp_secret",
            )
            .expect("valid credential"),
        ];
        let limits = Limits {
            render_deadline,
            request_deadline: render_deadline,
            http: HttpLimits {
                requests: 20,
                response_bytes: 1 << 20,
                timeout: Duration::from_secs(5),
            },
            ..test_limits()
        };
        load_configured(
            fixture,
            test_plugin(artifacts::HTTP_HOSTILE_COMPONENT),
            |artifact| Grant::all_requested(artifact.manifest()),
            Egress::new([], credentials),
            limits,
        )
    }

    async fn attempt(plugin: &LoadedPlugin, name: &str) -> Result<String, CallError> {
        let request = Request {
            method: Method::Get,
            path: name.to_owned(),
            query: vec![],
            headers: vec![],
            body: vec![],
            user: None,
        };
        let response = plugin.handle(request, None).await?;
        let json: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
        Ok(json["outcome"].as_str().expect("an outcome").to_owned())
    }

    fn audit(fixture: &Fixture) -> Vec<(String, Option<String>, String)> {
        let mut rows: Vec<_> = AuditLog::new(fixture.db.clone())
            .recent(Some("test-http-hostile"), 100)
            .expect("audit log reads")
            .into_iter()
            .map(|e| (e.action, e.resource, e.reason))
            .collect();
        rows.reverse();
        rows
    }

    #[tokio::test]
    async fn every_way_out_of_the_grant_is_refused_and_audited_while_granted_requests_go_out() {
        let fixture = fixture();
        let plugin = load_hostile(&fixture, Duration::from_secs(20));
        let view = render_widget(&plugin)
            .await
            .expect("a plugin refused at every turn still renders");
        let lines = texts(&view);
        let expected = [
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
            // 11 requests before it (the redirect is two), 20 a call.
            "flood: sent 9, then refused (ConnectionLimitReached)",
        ];
        assert_eq!(lines, expected);

        let rows = audit(&fixture);
        let actions: Vec<(&str, Option<&str>)> = rows
            .iter()
            .map(|(action, resource, _)| (action.as_str(), resource.as_deref()))
            .collect();
        assert_eq!(
            actions,
            [
                ("http.request", Some("example.com")),
                ("http.request", Some("http://127.0.0.1:7007")),
                ("http.request", Some("http://169.254.169.254")),
                ("http.request", Some("http://localhost:27184")),
                ("http.credential", Some("github")),
                ("http.credential", Some("root")),
                ("http.response", Some("http://127.0.0.1:27184")),
                ("http.request", Some("http://127.0.0.1:27184")),
                // The redirect to the metadata address repeats an earlier
                // denial: counted, not written again.
                (greenroom_broker::COALESCED_ACTION, None),
            ],
            "one row per distinct denial, the flood's once: {rows:#?}"
        );
        let reasons: Vec<&str> = rows.iter().map(|(_, _, reason)| reason.as_str()).collect();
        assert!(
            reasons[3].contains("`localhost` resolved to")
                && reasons[3].contains("a loopback address"),
            "{}",
            reasons[3]
        );
        assert_eq!(
            reasons[4],
            "credential `github` is bound to api.github.com, not http://127.0.0.1:27184"
        );
        assert!(
            rows.iter()
                .all(|(_, _, reason)| !reason.contains("ghp_secret")
                    && !reason.contains("origin-token")),
            "no secret in the audit log"
        );
    }

    #[tokio::test]
    async fn a_response_declaring_too_large_a_body_is_refused_before_reading() {
        let fixture = fixture();
        let plugin = load_hostile(&fixture, Duration::from_secs(20));
        assert_eq!(
            attempt(&plugin, "oversized-declared")
                .await
                .expect("answers"),
            "refused (HttpResponseBodySize(Some(100000000)))"
        );
        assert_eq!(audit(&fixture)[0].0, "http.response");
    }

    #[tokio::test]
    async fn a_slow_origin_is_cut_off_at_the_calls_deadline_and_the_plugin_serves_on() {
        let fixture = fixture();
        let plugin = load_hostile(&fixture, Duration::from_millis(500));
        let started = std::time::Instant::now();
        let err = attempt(&plugin, "slow").await.unwrap_err();
        assert!(matches!(err, CallError::Deadline { .. }), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            attempt(&plugin, "granted").await.expect("answers"),
            "200 hello from the origin"
        );
    }

    #[tokio::test]
    async fn a_slow_origin_is_cut_off_at_the_request_timeout() {
        let fixture = fixture();
        origin::start();
        let limits = Limits {
            request_deadline: Duration::from_secs(20),
            http: HttpLimits {
                timeout: Duration::from_millis(300),
                ..HttpLimits::default()
            },
            ..test_limits()
        };
        let plugin = load_limited(
            &fixture,
            test_plugin(artifacts::HTTP_HOSTILE_COMPONENT),
            limits,
        );
        assert_eq!(
            attempt(&plugin, "slow").await.expect("answers"),
            "refused (ConnectionReadTimeout)"
        );
    }

    #[tokio::test]
    async fn without_the_grant_nothing_goes_out_not_even_to_the_origin() {
        let fixture = fixture();
        origin::start();
        let plugin = load_with(
            &fixture,
            test_plugin(artifacts::HTTP_HOSTILE_COMPONENT),
            |_| Grant::none(),
        );
        assert_eq!(
            attempt(&plugin, "granted").await.expect("answers"),
            "refused (HttpRequestDenied)"
        );
        assert_eq!(
            attempt(&plugin, "credential").await.expect("answers"),
            "refused (HttpRequestDenied)",
            "a credential is never sent to an origin the plugin was not granted"
        );
    }
}

mod stack {
    use super::*;

    #[tokio::test]
    async fn runs_out_of_stack_and_fails_alone() {
        let fixture = fixture();
        let plugin = load(&fixture, test_plugin(artifacts::STACK_COMPONENT));
        let err = render_widget(&plugin).await.unwrap_err();
        let CallError::Trap { message } = &err else {
            panic!("expected a trap, got {err:?}")
        };
        assert!(message.contains("stack"), "{message}");
        let hello = load(&fixture, hello_bytes());
        assert!(render_widget(&hello).await.is_ok());
    }
}

mod big_view {
    use super::*;

    #[tokio::test]
    async fn is_refused_whole_naming_the_limit() {
        let err = render_widget_of(artifacts::BIG_VIEW_COMPONENT)
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::InvalidView(_)), "{err:?}");
        assert!(err.to_string().contains("the most is 5000"), "{err}");
    }

    #[tokio::test]
    async fn an_operator_may_hold_a_plugin_to_smaller_views() {
        let fixture = fixture();
        let limits = Limits {
            view: greenroom_runtime::ViewLimits {
                nodes: 2,
                ..Default::default()
            },
            ..test_limits()
        };
        let hello = load_limited(&fixture, hello_bytes(), limits);
        let err = render_widget(&hello).await.unwrap_err();
        assert!(err.to_string().contains("; the most is 2"), "{err}");
    }
}

mod amplify {
    use super::*;
    use greenroom_runtime::MAX_ERROR_MESSAGE_BYTES;

    fn slot(plugin: &LoadedPlugin, name: &str) -> greenroom_contract::SlotDecl {
        plugin
            .manifest()
            .slots
            .iter()
            .find(|slot| slot.name == name)
            .expect("declared")
            .clone()
    }

    /// Loads the amplify plugin with a deadline long enough for its loops.
    fn load_amplify(fixture: &Fixture) -> LoadedPlugin {
        let limits = Limits {
            render_deadline: Duration::from_secs(20),
            ..test_limits()
        };
        load_limited(fixture, test_plugin(artifacts::AMPLIFY_COMPONENT), limits)
    }

    #[tokio::test]
    async fn an_empty_huge_table_and_a_chart_with_a_huge_unit_are_refused_not_drawn() {
        let fixture = fixture();
        let plugin = load_amplify(&fixture);
        let table = plugin.render(&slot(&plugin, "table"), &guest()).await;
        let err = table.unwrap_err();
        assert!(matches!(err, CallError::InvalidView(_)), "{err:?}");
        assert!(
            err.to_string().contains(
                "the view's tables have 4000000 cells (rows × columns); the most is 50000"
            ),
            "{err}"
        );
        let chart = plugin.render(&slot(&plugin, "chart"), &guest()).await;
        let err = chart.unwrap_err();
        assert!(matches!(err, CallError::InvalidView(_)), "{err:?}");
        assert!(err.to_string().contains("bytes of text"), "{err}");
        assert_eq!(plugin.health().failures_of(FailureKind::InvalidOutput), 2);
    }

    #[tokio::test]
    async fn an_8_mib_error_message_is_cut_for_the_page_and_the_health_page() {
        let fixture = fixture();
        let plugin = load_amplify(&fixture);
        let err = plugin
            .render(&slot(&plugin, "message"), &guest())
            .await
            .unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.len() <= MAX_ERROR_MESSAGE_BYTES,
            "{} bytes",
            shown.len()
        );
        assert!(shown.starts_with("amplified: mmm"), "{}", &shown[..40]);
        assert!(shown.ends_with("bytes in all]"), "the cut is marked");
        let health = plugin.health();
        let kept = &health.last_failure().expect("recorded").message;
        assert!(kept.len() <= MAX_ERROR_MESSAGE_BYTES);
    }

    #[tokio::test]
    async fn a_view_looping_on_a_refused_call_writes_a_few_audit_rows_and_one_count() {
        let fixture = fixture();
        let plugin = load_amplify(&fixture);
        let view = plugin
            .render(&slot(&plugin, "denials"), &guest())
            .await
            .expect("it draws after its refusals");
        assert_eq!(texts(&view), ["refused: 5008"]);
        let rows = AuditLog::new(fixture.db.clone())
            .recent(Some("test-amplify"), greenroom_access::MAX_AUDIT_PAGE)
            .expect("audit log reads");
        // The first distinct denials one by one, then one row counting the
        // rest, where 5 008 rows were written before.
        assert_eq!(
            rows.len(),
            greenroom_broker::MAX_DENIALS_RECORDED_PER_CALL + 1,
            "{rows:?}"
        );
        assert_eq!(rows[0].action, greenroom_broker::COALESCED_ACTION);
        assert!(
            rows[0].reason.starts_with("and 4998 more denials"),
            "{}",
            rows[0].reason
        );
        let stored: usize = rows
            .iter()
            .map(|r| r.resource.as_deref().map_or(0, str::len) + r.reason.len())
            .sum();
        assert!(stored < 16 << 10, "{stored} bytes of audit rows");
        assert_eq!(plugin.health().denied_calls, 1);
    }
}

/// Instance slots: a runtime of its own, with a small pool.
mod slots {
    use super::*;

    fn small_runtime(total: u32, per_plugin: Option<u32>, tasks: Option<u32>) -> Runtime {
        static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
        let cache = CACHE.get_or_init(|| tempfile::tempdir().expect("temp dir"));
        Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_owned()),
            max_instances: total,
            max_instances_per_plugin: per_plugin,
            max_task_instances: tasks,
        })
        .expect("runtime starts")
    }

    fn load_into(
        runtime: &Runtime,
        fixture: &Fixture,
        bytes: Vec<u8>,
        limits: Limits,
    ) -> LoadedPlugin {
        let artifact = Artifact::from_bytes(bytes).expect("artifact is valid");
        let manifest = artifact.manifest().clone();
        let env = PluginEnv::new(
            &manifest,
            Grant::all_requested(&manifest),
            serde_json::json!({}),
            &fixture.db,
        );
        runtime.load(artifact, env, limits).expect("plugin loads")
    }

    /// A plugin that spins for `seconds` in every render.
    fn spinner(runtime: &Runtime, fixture: &Fixture, seconds: u64) -> LoadedPlugin {
        let limits = Limits {
            render_deadline: Duration::from_secs(seconds),
            ..test_limits()
        };
        load_into(
            runtime,
            fixture,
            test_plugin(artifacts::SPIN_COMPONENT),
            limits,
        )
    }

    fn hello_in(runtime: &Runtime, fixture: &Fixture) -> LoadedPlugin {
        let limits = Limits {
            render_deadline: Duration::from_secs(1),
            ..test_limits()
        };
        load_into(runtime, fixture, hello_bytes(), limits)
    }

    /// Starts `calls` and polls them once, so each has taken a slot (or
    /// queued for one) before the caller goes on.
    async fn started<F: std::future::Future>(
        calls: Vec<F>,
    ) -> std::pin::Pin<Box<futures::future::JoinAll<F>>> {
        let mut running = Box::pin(futures::future::join_all(calls));
        assert!(futures::poll!(running.as_mut()).is_pending());
        running
    }

    #[tokio::test]
    async fn one_plugins_calls_leave_slots_for_another_plugins_page() {
        let fixture = fixture();
        // Two slots; each plugin may hold one (half the pool).
        let runtime = small_runtime(2, None, None);
        let spin = spinner(&runtime, &fixture, 3);
        let hello = hello_in(&runtime, &fixture);
        let (spin_slot, hello_slot, cx) = (widget(&spin), widget(&hello), guest());
        let spinning = started((0..4).map(|_| spin.render(&spin_slot, &cx)).collect()).await;
        let greeted = hello.render(&hello_slot, &cx).await;
        assert!(
            greeted.is_ok(),
            "another plugin's page is drawn: {greeted:?}"
        );
        for spun in spinning.await {
            let err = spun.unwrap_err();
            assert!(
                matches!(err, CallError::Deadline { .. } | CallError::Busy { .. }),
                "{err:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_call_that_gets_no_slot_before_its_deadline_fails_as_busy() {
        let fixture = fixture();
        // Two slots, both of which one plugin may hold.
        let runtime = small_runtime(2, Some(2), None);
        let spin = spinner(&runtime, &fixture, 3);
        let hello = hello_in(&runtime, &fixture);
        let (spin_slot, hello_slot, cx) = (widget(&spin), widget(&hello), guest());
        let spinning = started((0..2).map(|_| spin.render(&spin_slot, &cx)).collect()).await;
        let err = hello.render(&hello_slot, &cx).await.unwrap_err();
        assert_eq!(
            err,
            CallError::Busy {
                deadline: Duration::from_secs(1)
            }
        );
        assert!(err.to_string().contains("too busy"), "{err}");
        assert_eq!(hello.health().failures_of(FailureKind::Busy), 1);
        drop(spinning.await);
        assert!(
            render_widget(&hello).await.is_ok(),
            "and serves once a slot is free"
        );
    }

    #[tokio::test]
    async fn long_scheduled_tasks_hold_at_most_their_share_of_the_slots() {
        let fixture = fixture();
        // Four slots, of which tasks may hold two (half the pool); the
        // plugin itself may hold all four.
        let runtime = small_runtime(4, Some(4), None);
        let limits = Limits {
            task_deadline: Duration::from_secs(3),
            ..test_limits()
        };
        let holder = load_into(
            &runtime,
            &fixture,
            test_plugin(artifacts::AMPLIFY_COMPONENT),
            limits,
        );
        let hello = hello_in(&runtime, &fixture);
        let tasks = started((0..20).map(|_| holder.run_task("hold")).collect()).await;
        let cx = guest();
        let table = holder
            .manifest()
            .slots
            .iter()
            .find(|s| s.name == "table")
            .expect("declared")
            .clone();
        let (greeted, own_page) = tokio::join!(render_widget(&hello), holder.render(&table, &cx));
        assert!(greeted.is_ok(), "{greeted:?}");
        // The plugin's own page runs too: its answer is its own (a table
        // too large), not a wait for a slot.
        assert!(
            matches!(own_page, Err(CallError::InvalidView(_))),
            "{own_page:?}"
        );
        for run in tasks.await {
            let err = run.unwrap_err();
            assert!(
                matches!(err, CallError::Deadline { .. } | CallError::Busy { .. }),
                "{err:?}"
            );
        }
    }
}

mod catalog_hostile {
    use super::*;

    #[tokio::test]
    async fn writes_only_the_kind_granted_and_reads_nothing() {
        let fixture = fixture();
        let plugin = load(&fixture, test_plugin(artifacts::CATALOG_HOSTILE_COMPONENT));
        let view = render_widget(&plugin).await.expect("renders");
        let lines = texts(&view);
        assert_eq!(lines[0], "write Component: written", "{lines:?}");
        assert!(
            lines[1].starts_with("write Group: refused")
                && lines[1].contains("capability catalog:write:Group was not granted"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("read: refused")
                && lines[2].contains("capability catalog:read was not granted"),
            "{lines:?}"
        );
        let audit: Vec<(String, Option<String>)> = AuditLog::new(fixture.db.clone())
            .recent(Some("test-catalog-hostile"), 10)
            .expect("audit log reads")
            .into_iter()
            .rev()
            .map(|e| (e.action, e.resource))
            .collect();
        assert_eq!(
            audit,
            [
                ("catalog.write".to_owned(), Some("Group".to_owned())),
                ("catalog.read".to_owned(), None)
            ]
        );
    }

    #[tokio::test]
    async fn writes_nothing_without_the_grant() {
        let fixture = fixture();
        let plugin = load_with(
            &fixture,
            test_plugin(artifacts::CATALOG_HOSTILE_COMPONENT),
            |_| Grant::none(),
        );
        let view = render_widget(&plugin).await.expect("renders");
        assert!(
            texts(&view)[0].contains("capability catalog:write:Component was not granted"),
            "{:?}",
            texts(&view)
        );
    }
}

mod snoop {
    use super::*;

    #[tokio::test]
    async fn cannot_see_another_plugins_storage_under_any_name() {
        let fixture = fixture();
        let hello = load(&fixture, hello_bytes());
        render_widget(&hello)
            .await
            .expect("hello counts a view in its storage");
        let snoop = load(&fixture, test_plugin(artifacts::SNOOP_COMPONENT));
        let view = render_widget(&snoop).await.expect("renders");
        let lines = texts(&view);
        let (guesses, keys) = lines.split_at(lines.len() - 1);
        assert!(
            guesses
                .iter()
                .all(|l| l.ends_with(": none") || l.contains("refused (invalid")),
            "{lines:?}"
        );
        assert_eq!(keys, ["keys: [\"mine\"]"], "only its own key");
        let again = render_widget(&hello).await.expect("renders");
        assert!(
            texts(&again).contains(&"Views of this widget: 2".to_owned()),
            "hello's data is untouched: {:?}",
            texts(&again)
        );
    }
}

fn append_custom_section(bytes: &mut Vec<u8>, name: &str, data: &[u8]) {
    use wasm_encoder::ComponentSection;
    wasm_encoder::CustomSection {
        name: name.into(),
        data: data.into(),
    }
    .append_to_component(bytes);
}
