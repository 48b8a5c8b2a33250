//! How fast the runtime loads and calls plugins.
//!
//! - `load/compile`: Cranelift compiles the hello component (no cache);
//! - `load/from_cache`: the same component deserialized from the cache, as
//!   on every restart;
//! - `call/trivial_render`: fresh store + instance + a render that touches
//!   no import (the floor for any call);
//! - `call/hello_home_widget`: fresh store + instance + hello's widget,
//!   which reads a setting, increments a counter in SQLite and logs.
//!
//! Run with `cargo bench -p greenroom-runtime --bench runtime`; results and
//! the machine are in `docs/performance.md`.

use criterion::{Criterion, criterion_group, criterion_main};
use greenroom_access::Identity;
use greenroom_broker::PluginEnv;
use greenroom_contract::Grant;
use greenroom_contract::{Artifact, SlotDecl, SlotKind};
use greenroom_runtime::{CallContext, Limits, LoadedPlugin, Runtime, RuntimeConfig};
use greenroom_store::Database;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn hello() -> Artifact {
    Artifact::from_bytes(
        greenroom_artifacts::bundled("hello")
            .expect("hello is bundled")
            .bytes
            .to_vec(),
    )
    .expect("valid")
}

fn env(artifact: &Artifact, db: &Database) -> PluginEnv {
    let manifest = artifact.manifest();
    let settings = manifest
        .resolve_settings(&serde_json::json!({}))
        .expect("valid settings");
    PluginEnv::new(manifest, Grant::all_requested(manifest), settings, db)
}

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("db")).expect("db");
    let artifact = hello();
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    let uncached = Runtime::new(RuntimeConfig::default()).expect("runtime");
    group.bench_function("compile", |b| {
        b.iter(|| {
            black_box(
                uncached
                    .load(artifact.clone(), env(&artifact, &db), Limits::default())
                    .expect("loads"),
            )
        })
    });
    let cached = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    cached
        .load(artifact.clone(), env(&artifact, &db), Limits::default())
        .expect("warms the cache");
    group.bench_function("from_cache", |b| {
        b.iter(|| {
            let plugin = cached
                .load(artifact.clone(), env(&artifact, &db), Limits::default())
                .expect("loads");
            assert!(plugin.loaded_from_cache());
            black_box(plugin)
        })
    });
    group.finish();
}

/// Times `iters` renders from inside a tokio worker task, as the portal's
/// request handlers call plugins.
fn renders(
    tokio: &tokio::runtime::Runtime,
    plugin: &Arc<LoadedPlugin>,
    slot: &SlotDecl,
    iters: u64,
) -> Duration {
    let (plugin, slot) = (plugin.clone(), slot.clone());
    let cx = CallContext::for_user(Identity::guest());
    tokio.block_on(async move {
        tokio::spawn(async move {
            let started = Instant::now();
            for _ in 0..iters {
                black_box(plugin.render(&slot, &cx).await.expect("renders"));
            }
            started.elapsed()
        })
        .await
        .expect("the timing task finishes")
    })
}

/// A loaded plugin and its home-page widget slot.
fn widget_plugin(
    runtime: &Runtime,
    db: &Database,
    artifact: Artifact,
) -> (Arc<LoadedPlugin>, SlotDecl) {
    let plugin = Arc::new(
        runtime
            .load(artifact.clone(), env(&artifact, db), Limits::default())
            .expect("loads"),
    );
    let slot = plugin
        .manifest()
        .slots_of(SlotKind::HomeWidget)
        .next()
        .expect("widget")
        .clone();
    (plugin, slot)
}

fn call(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Database::open(&dir.path().join("db")).expect("db");
    let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let mut group = c.benchmark_group("call");

    let trivial = Artifact::from_bytes(
        std::fs::read(greenroom_artifacts::STATIC_STATE_COMPONENT).expect("built"),
    )
    .expect("valid");
    let (trivial, slot) = widget_plugin(&runtime, &db, trivial);
    group.bench_function("trivial_render", |b| {
        b.iter_custom(|iters| renders(&tokio, &trivial, &slot, iters))
    });

    let (hello, slot) = widget_plugin(&runtime, &db, hello());
    group.bench_function("hello_home_widget", |b| {
        b.iter_custom(|iters| renders(&tokio, &hello, &slot, iters))
    });
    group.finish();
}

criterion_group!(benches, load, call);
criterion_main!(benches);
