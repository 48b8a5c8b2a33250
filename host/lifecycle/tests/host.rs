//! The plugin host with real compiled plugins: what loads, what a request
//! may call, and what a swap does to a request holding the old set.

use greenroom_access::Identity;
use greenroom_access::rbac::{PolicyDocument, Rbac};
use greenroom_artifacts as artifacts;
use greenroom_catalog::CatalogRules;
use greenroom_contract::SlotKind;
use greenroom_lifecycle::{Loader, PluginEntry, PluginHost, PluginSource, Refusal};
use greenroom_marketplace::Suspensions;
use greenroom_runtime::{CallContext, Limits, Runtime, RuntimeConfig};
use greenroom_store::Database;
use std::path::PathBuf;
use std::sync::Arc;

struct Fixture {
    _dir: tempfile::TempDir,
    db: Database,
    loader: Loader,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("greenroom.db")).expect("database opens");
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..RuntimeConfig::default()
    })
    .expect("runtime starts");
    let loader = Loader::new(
        Arc::new(runtime),
        db.clone(),
        Rbac::fixed(PolicyDocument::default(), Vec::new()),
        Arc::new(|_| Default::default()),
        CatalogRules::default(),
    );
    Fixture {
        _dir: dir,
        db,
        loader,
    }
}

fn entry(source: PluginSource) -> PluginEntry {
    PluginEntry {
        source,
        grant: vec!["all".into()],
        settings: serde_json::Map::new(),
        limits: Limits::default(),
    }
}

fn hello() -> PluginEntry {
    entry(PluginSource::Bundled("hello".into()))
}

fn premium() -> PluginEntry {
    entry(PluginSource::File(PathBuf::from(
        artifacts::PREMIUM_COMPONENT,
    )))
}

/// A host started with hello and the premium test plugin.
fn hello_and_premium(fixture: &Fixture) -> PluginHost {
    PluginHost::start(
        fixture.loader.clone(),
        vec![
            ("bundled:hello".into(), Ok(hello())),
            ("premium".into(), Ok(premium())),
        ],
    )
}

/// The ids of the plugins `host` lists, in order.
fn ids(host: &PluginHost) -> Vec<String> {
    host.list()
        .iter()
        .map(|p| p.manifest().id.to_string())
        .collect()
}

#[tokio::test]
async fn start_loads_what_it_can_and_says_why_not_for_the_rest() {
    let fixture = fixture();
    let host = PluginHost::start(
        fixture.loader.clone(),
        vec![
            ("bundled:hello".into(), Ok(hello())),
            (
                "missing.wasm".into(),
                Ok(entry(PluginSource::File("missing.wasm".into()))),
            ),
            ("bundled:hello (again)".into(), Ok(hello())),
            (
                "bundled:hello (over-granted)".into(),
                Ok(PluginEntry {
                    grant: vec!["http:evil.example".into()],
                    ..hello()
                }),
            ),
        ],
    );
    host.started().await;
    assert_eq!(ids(&host), ["hello"]);
    let failed = host.failed();
    let failed: Vec<(&str, &str)> = failed
        .iter()
        .map(|f| (f.source.as_str(), f.error.as_str()))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(
        failed[0].1.contains("cannot read missing.wasm"),
        "{failed:?}"
    );
    assert!(failed[1].1.contains("already loaded"), "{failed:?}");
    assert!(failed[2].1.contains("evil.example"), "{failed:?}");
}

#[tokio::test]
async fn only_the_gate_hands_out_a_callable_plugin() {
    let fixture = fixture();
    let host = hello_and_premium(&fixture);
    host.started().await;
    assert_eq!(
        host.callable("nobody").err(),
        Some(Refusal::NotLoaded("nobody".into()))
    );
    // No licence book: a premium plugin is never called; an open one is.
    assert!(matches!(
        host.callable("test-premium"),
        Err(Refusal::Unlicensed { .. })
    ));
    let callable = host.callable("hello").expect("open plugins run");
    let widget = callable
        .manifest()
        .slots_of(SlotKind::HomeWidget)
        .next()
        .expect("hello has a home widget");
    callable
        .render(widget, &CallContext::for_user(Identity::guest()))
        .await
        .expect("it draws");

    // An admin suspends hello: refused at once, and across a new host on
    // the same data directory once suspensions are read.
    let suspensions = Suspensions::new(fixture.db.clone());
    host.suspend(&suspensions, "hello", "user:default/lucas", "keeps failing")
        .expect("suspends");
    let refusal = host.callable("hello").err().expect("refused");
    assert!(matches!(refusal, Refusal::Suspended { .. }));
    assert!(refusal.message().contains("turned Hello off"), "{refusal}");
    let again = PluginHost::start(fixture.loader.clone(), vec![("hello".into(), Ok(hello()))]);
    again.started().await;
    assert!(again.callable("hello").is_ok(), "not read yet");
    again.load_suspensions(&suspensions);
    assert!(again.callable("hello").is_err());
    assert!(
        host.resume(&suspensions, "hello", "user:default/lucas")
            .expect("resumes")
    );
    assert!(host.callable("hello").is_ok());

    // `plugin dev` waives licences: the author's premium plugin runs.
    host.waive_licences();
    assert!(host.callable("test-premium").is_ok());
}

#[tokio::test]
async fn a_swap_leaves_the_set_a_request_holds_alone() {
    let fixture = fixture();
    let host = PluginHost::start(fixture.loader.clone(), vec![("hello".into(), Ok(hello()))]);
    host.started().await;
    let before = host.list();
    let old = host.get("hello").expect("loaded");
    let new = host.load(&hello()).expect("reloads");
    assert!(!new.same_as(&old), "a new build");
    assert!(host.get("hello").expect("still there").same_as(&new));
    assert!(before[0].same_as(&old), "the snapshot keeps the old build");
    host.load(&premium()).expect("loads");
    assert_eq!(host.list().len(), 2);
    host.remove("hello");
    assert_eq!(ids(&host), ["test-premium"]);
    assert_eq!(before.len(), 1);

    // A host given plugins loaded elsewhere has no loader to load more.
    let fixed = PluginHost::new(Vec::new(), Vec::new());
    let error = fixed.load(&hello()).err().expect("no loader");
    assert!(error.to_string().contains("loader"), "{error}");
}

#[tokio::test]
async fn a_start_serves_at_once_and_refuses_a_plugin_until_it_is_compiled() {
    // An empty compile cache: hello takes a Cranelift compile (a tenth of
    // a second at least), the start returns before it.
    let fixture = fixture();
    let host = hello_and_premium(&fixture);
    let listed = ids(&host);
    assert_eq!(
        listed,
        ["hello", "test-premium"],
        "listed, in order, at once"
    );
    assert!(!host.is_started());
    let hello_now = host.get("hello").expect("listed while it compiles");
    assert!(hello_now.is_starting());
    assert!(
        hello_now
            .manifest()
            .slots_of(SlotKind::HomeWidget)
            .next()
            .is_some(),
        "its slots are known before it is compiled"
    );
    let refusal = host.callable("hello").err().expect("not callable yet");
    assert_eq!(refusal, Refusal::Starting("Hello".into()));
    assert!(refusal.message().contains("Hello is starting"), "{refusal}");
    // A licence refusal says more than "starting" and holds either way.
    assert!(matches!(
        host.callable("test-premium"),
        Err(Refusal::Unlicensed { .. })
    ));

    host.started().await;
    assert!(host.is_started());
    assert!(!host.get("hello").expect("loaded").is_starting());
    assert!(host.callable("hello").is_ok());
    let listed = ids(&host);
    assert_eq!(
        listed,
        ["hello", "test-premium"],
        "the configured order stays"
    );
    assert!(host.failed().is_empty());
}

#[tokio::test]
async fn a_plugin_that_fails_to_compile_leaves_the_list_for_the_failed() {
    // Checked but not compilable: a component whose code section is
    // damaged after the manifest, read without compiling, was checked.
    let fixture = fixture();
    let mut broken = artifacts::bundled("hello").expect("bundled").bytes.to_vec();
    damage_code(&mut broken);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.wasm");
    std::fs::write(&path, &broken).expect("written");
    let host = PluginHost::start(
        fixture.loader.clone(),
        vec![(
            "broken.wasm".into(),
            Ok(entry(PluginSource::File(path.clone()))),
        )],
    );
    host.started().await;
    assert!(host.list().is_empty(), "not served");
    let failed = host.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].source, "broken.wasm");
    assert!(
        failed[0].error.contains("does not compile"),
        "the reason is the compile's: {}",
        failed[0].error
    );
}

/// Makes the first function body of `component` start with `i32.add` on
/// an empty stack: still a component whose sections read, no longer one
/// that validates.
fn damage_code(component: &mut [u8]) {
    let at = wasmparser::Parser::new(0)
        .parse_all(component)
        .find_map(|payload| match payload.expect("hello parses") {
            wasmparser::Payload::CodeSectionEntry(body) => Some(
                body.get_operators_reader()
                    .expect("a body")
                    .original_position(),
            ),
            _ => None,
        })
        .expect("hello has code");
    component[at] = 0x6a; // i32.add
}
