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

#[test]
fn start_loads_what_it_can_and_says_why_not_for_the_rest() {
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
    let ids: Vec<String> = host
        .list()
        .iter()
        .map(|p| p.manifest().id.to_string())
        .collect();
    assert_eq!(ids, ["hello"]);
    let failed: Vec<(&str, &str)> = host
        .failed()
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
    let host = PluginHost::start(
        fixture.loader.clone(),
        vec![
            ("hello".into(), Ok(hello())),
            ("premium".into(), Ok(premium())),
        ],
    );
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

#[test]
fn a_swap_leaves_the_set_a_request_holds_alone() {
    let fixture = fixture();
    let host = PluginHost::start(fixture.loader.clone(), vec![("hello".into(), Ok(hello()))]);
    let before = host.list();
    let old = host.get("hello").expect("loaded");
    let new = host.load(&hello()).expect("reloads");
    assert!(!new.same_as(&old), "a new build");
    assert!(host.get("hello").expect("still there").same_as(&new));
    assert!(before[0].same_as(&old), "the snapshot keeps the old build");
    host.load(&premium()).expect("loads");
    assert_eq!(host.list().len(), 2);
    host.remove("hello");
    let ids: Vec<String> = host
        .list()
        .iter()
        .map(|p| p.manifest().id.to_string())
        .collect();
    assert_eq!(ids, ["test-premium"]);
    assert_eq!(before.len(), 1);

    // A host given plugins loaded elsewhere has no loader to load more.
    let fixed = PluginHost::new(Vec::new(), Vec::new());
    let error = fixed.load(&hello()).err().expect("no loader");
    assert!(error.to_string().contains("loader"), "{error}");
}
