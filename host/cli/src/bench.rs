//! `greenroom bench …`: performance measured on the machine it runs on,
//! printed for docs/performance.md. Build with `--release`; numbers from a
//! debug build are meaningless.

use anyhow::Context as _;

pub mod http;

/// `greenroom bench catalog --entities N`.
pub fn catalog(entities: usize, samples: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot create a scratch directory")?;
    greenroom_catalog::bench::run(dir.path(), entities, samples)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the catalog benchmark failed")
}

/// `greenroom bench rbac --entities N`: the cost of permissions — a catalog
/// query filtered by a user's RBAC conditions against the same query
/// unfiltered, and one decision.
pub fn rbac(entities: usize, samples: usize) -> anyhow::Result<()> {
    use greenroom_access::Identity;
    use greenroom_access::rbac::{PolicyDocument, Rbac};
    use greenroom_catalog::bench::{ingest, report_line, time};
    use greenroom_catalog::{Cursor, EntityQuery, Predicate};
    let dir = tempfile::tempdir().context("cannot create a scratch directory")?;
    let error = |e: Box<dyn std::error::Error>| anyhow::anyhow!("{e}");
    let (catalog, _shape) = ingest(dir.path(), entities).map_err(error)?;
    let store = catalog.store();
    // Everyone reads what is not restricted; a team reads what it owns.
    let policy = "default-role: viewer\nroles:\n  - name: viewer\n    policies:\n      - permission: catalog.entity.read\n        effect: allow\n        conditions:\n          anyOf:\n            - rule: IS_ENTITY_OWNER\n            - not: { rule: HAS_ANNOTATION, params: { annotation: acme.com/restricted } }\n  - name: platform\n    members: [group:default/platform]\n    policies:\n      - permission: \"*\"\n        effect: allow\n";
    let engine = Rbac::fixed(PolicyDocument::default(), Vec::new());
    let document = PolicyDocument::from_yaml(policy, "bench policy", &engine.known_permissions())?;
    let engine = Rbac::fixed(document, Vec::new());
    let user = Identity {
        entity_ref: "user:default/user-00001".into(),
        display_name: "User".into(),
        email: None,
        groups: vec![
            "group:default/team-00001".into(),
            "group:default/team-00002".into(),
        ],
        guest: false,
    };
    let restriction = engine
        .catalog_filter(&user, "catalog.entity.read")
        .restriction();
    let services = Predicate::from_filter_params(&["kind=component,spec.type=service".into()])?;
    let run = |restriction: Option<&Predicate>| {
        let query = EntityQuery {
            filter: services.clone(),
            ..EntityQuery::default()
        };
        store
            .query(&Cursor::first(query), 100, restriction)
            .map(|_| ())
    };
    let unfiltered = time(samples, || run(None)).map_err(error)?;
    report_line(
        "by-query limit 100 + totalItems, no permission filter",
        &unfiltered,
    );
    let filtered = time(samples, || run(restriction.as_ref())).map_err(error)?;
    report_line(
        "the same, filtered by the user's RBAC conditions",
        &filtered,
    );
    let p50 = |d: &[std::time::Duration]| d[d.len() / 2].as_secs_f64();
    println!(
        "filtered / unfiltered (p50): {:.2}x",
        p50(&filtered) / p50(&unfiltered)
    );

    let decisions = 1_000_000u32;
    let started = std::time::Instant::now();
    for i in 0..decisions {
        let permission = if i % 2 == 0 {
            "catalog.entity.read"
        } else {
            "plugin.install"
        };
        std::hint::black_box(engine.decide(std::hint::black_box(&user), permission));
    }
    println!(
        "one decision: {:.2} µs (mean of {decisions}, conditional and denied alternately)",
        started.elapsed().as_secs_f64() * 1e6 / f64::from(decisions)
    );
    Ok(())
}

/// The demo's Soundcheck configuration: two tracks of three levels, 27
/// checks, one campaign.
const SOUNDCHECK_DEMO: &str = include_str!("../../../plugins/soundcheck/demo/soundcheck.yaml");

/// `greenroom bench soundcheck --entities N`: the bundled Soundcheck plugin
/// in the real runtime over a generated catalog with at least N components
/// in scope of the demo's tracks.
/// Its `collect` task gathers the catalog facts, then its `evaluate` task
/// evaluates every check of both tracks for every entity (timed), and its
/// entity card is drawn `samples` times (timed). The HTTP collectors are
/// not granted, so they fail fast and their checks fail, as they would
/// before a first collection.
pub fn soundcheck(entities: usize, samples: usize) -> anyhow::Result<()> {
    use greenroom_broker::PluginEnv;
    use greenroom_catalog::bench::{ingest, report_line};
    use greenroom_catalog::generate::Shape;
    use greenroom_contract::Grant;
    use greenroom_runtime::{CallContext, Limits, Runtime, RuntimeConfig};
    use std::time::Instant;

    let dir = tempfile::tempdir().context("cannot create a scratch directory")?;
    let error = |e: Box<dyn std::error::Error>| anyhow::anyhow!("{e}");
    // Components in scope of the demo's tracks (the Security track takes
    // production and experimental ones; the rest are libraries, deprecated
    // or unowned): grow the catalog until at least `entities` are.
    let in_scope = greenroom_catalog::Predicate::from_filter_params(&[
        "kind=component,spec.lifecycle=production".into(),
        "kind=component,spec.lifecycle=experimental".into(),
    ])?;
    let count = |store: &greenroom_catalog::CatalogStore,
                 filter: &Option<greenroom_catalog::Predicate>| {
        store.query(
            &greenroom_catalog::Cursor::first(greenroom_catalog::EntityQuery {
                filter: filter.clone(),
                ..Default::default()
            }),
            1,
            None,
        )
    };
    let mut total = (entities..)
        .step_by(500)
        .find(|n| Shape::for_total(*n).components >= entities)
        .context("no catalog size has that many components")?;
    let mut attempt = 0;
    let (catalog, component, scoped) = loop {
        let (catalog, _) =
            ingest(&dir.path().join(format!("catalog-{attempt}")), total).map_err(error)?;
        let page = count(catalog.store(), &in_scope)?;
        let scoped = usize::try_from(page.total_items).unwrap_or(usize::MAX);
        if scoped >= entities {
            let component = page
                .items
                .into_iter()
                .next()
                .context("a component in scope")?;
            break (catalog, component, scoped);
        }
        total = total * entities / scoped.max(1) + 500;
        attempt += 1;
    };
    let store = catalog.store();

    let artifact = greenroom_contract::Artifact::from_bytes(
        greenroom_artifacts::bundled("soundcheck")
            .context("soundcheck is bundled")?
            .bytes,
    )?;
    let manifest = artifact.manifest().clone();
    let settings = manifest
        .resolve_settings(&serde_json::json!({ "config": SOUNDCHECK_DEMO }))
        .map_err(|e| anyhow::anyhow!("{}", e.join("; ")))?;
    let grant = Grant::select(&manifest, &["catalog:read".into(), "storage".into()])?;
    let env = PluginEnv::new(&manifest, grant, settings, store.database());
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..RuntimeConfig::default()
    })?;
    let plugin = runtime.load(artifact, env, Limits::default())?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let started = Instant::now();
    tokio.block_on(plugin.run_task("collect"))?;
    println!(
        "collect (catalog facts for every entity): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        tokio.block_on(plugin.run_task("evaluate"))?;
        runs.push(started.elapsed());
    }
    runs.sort();
    println!(
        "evaluate (all checks of 2 tracks over the {scoped} components in their scope, of {total} entities): best {:.2} s, worst {:.2} s (goal < 2 s at 10 000)",
        runs[0].as_secs_f64(),
        runs[runs.len() - 1].as_secs_f64()
    );

    let slot = manifest
        .slots
        .iter()
        .find(|s| s.kind == greenroom_contract::SlotKind::EntityCard)
        .context("soundcheck has an entity card")?
        .clone();
    let entity = greenroom_contract::wit_entity(&component);
    let cx = CallContext {
        entity: Some(entity),
        ..CallContext::for_user(greenroom_access::Identity::guest())
    };
    let mut renders = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let started = Instant::now();
        tokio.block_on(plugin.render(&slot, &cx))?;
        renders.push(started.elapsed());
    }
    renders.sort();
    report_line("entity card render (goal < 5 ms)", &renders);
    Ok(())
}
