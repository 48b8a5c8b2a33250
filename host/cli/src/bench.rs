//! `greenroom bench …`: performance measured on the machine it runs on,
//! printed for docs/performance.md. Build with `--release`; numbers from a
//! debug build are meaningless.

use anyhow::Context as _;

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
