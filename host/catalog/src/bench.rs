//! The catalog benchmark behind `greenroom bench catalog`: ingest a
//! generated catalog into a fresh database in `dir`, then time the queries
//! the API serves most, printing what docs/performance.md records.

use crate::{
    Catalog, CatalogConfig, CatalogError, CatalogStore, Cursor, EntityQuery, FullText,
    LocationType, Predicate, generate,
};
use greenroom_store::Database;
use std::path::Path;
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Runs the benchmark with `entities` entities and `samples` timed runs of
/// each query, in the empty folder `dir`.
pub fn run(dir: &Path, entities: usize, samples: usize) -> BenchResult<()> {
    let (catalog, shape) = ingest(dir, entities)?;
    queries(&catalog, &shape, samples)
}

/// Generates a catalog of `entities` entities in `dir`, ingests it into a
/// fresh database there, and prints how long that took.
pub fn ingest(dir: &Path, entities: usize) -> BenchResult<(Catalog, generate::Shape)> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with --release for real numbers");
    }
    let files = generate::organisation(entities);
    for (path, text) in &files {
        let path = dir.join("catalog").join(path);
        std::fs::create_dir_all(path.parent().expect("generated paths have a folder"))?;
        std::fs::write(&path, text)?;
    }
    let shape = generate::Shape::for_total(entities);
    println!("catalog of {entities} entities: {shape:?}");

    let db = Database::open(&dir.join("greenroom.db"))?;
    let catalog = Catalog::new(CatalogStore::new(db), CatalogConfig::default());
    let target = dir.join("catalog/all.yaml");
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let (location, report) = catalog.add_location(
        LocationType::File,
        &target.to_string_lossy(),
        "bench",
        false,
    )?;
    let ingest = started.elapsed();
    let ingest_cpu = cpu_seconds() - cpu_before;
    if let Some(problem) = report.problems.first() {
        return Err(format!("the generated catalog has problems: {problem}").into());
    }
    catalog.store().optimize()?;
    println!(
        "ingest:        {} entities in {:.2} s ({:.0} entities/s; {ingest_cpu:.1} s of CPU)",
        report.added,
        ingest.as_secs_f64(),
        report.added as f64 / ingest.as_secs_f64()
    );
    println!("i/o so far:    {}", io());
    let started = Instant::now();
    let again = catalog.refresh_location(&location)?;
    println!(
        "refresh:       {} unchanged in {:.2} s",
        again.unchanged,
        started.elapsed().as_secs_f64()
    );
    println!("rss:           {} (peak {})", rss("VmRSS:"), rss("VmHWM:"));
    Ok((catalog, shape))
}

fn queries(catalog: &Catalog, shape: &generate::Shape, samples: usize) -> BenchResult<()> {
    let store = catalog.store();
    let components = shape.components.max(1);
    let mut n = 0usize;
    let by_name = time(samples, || {
        n = (n * 7919 + 13) % components;
        // Names are generated as <word>-<word>-<index>; ask by the full ref
        // of a team instead when the catalog has no components.
        let team = format!("group:default/team-{:05}", n % shape.groups);
        store.entity_by_ref(&team).map(|e| assert!(e.is_some()))
    })?;
    report_line("by-name", &by_name);

    let services = Predicate::from_filter_params(&["kind=component,spec.type=service".into()])?;
    let filtered = time(samples, || {
        let query = EntityQuery {
            filter: services.clone(),
            ..EntityQuery::default()
        };
        store
            .query(&Cursor::first(query), 100, None)
            .map(|p| assert_eq!(p.items.len(), 100))
    })?;
    report_line("by-query filtered, limit 100, with totalItems", &filtered);

    let mut t = 0usize;
    let owned = time(samples, || {
        t = (t + 1) % shape.groups;
        let filter = Predicate::from_filter_params(&[format!(
            "kind=component,relations.ownedBy=group:default/team-{t:05}"
        )])?;
        let query = EntityQuery {
            filter,
            ..EntityQuery::default()
        };
        store.query(&Cursor::first(query), 100, None).map(|_| ())
    })?;
    report_line("by-query owned by one team", &owned);

    let words = ["ledger", "payment", "invoice", "fraud", "gateway", "refund"];
    let mut w = 0usize;
    let full_text = time(samples, || {
        w = (w + 1) % words.len();
        let query = EntityQuery {
            full_text: Some(FullText {
                term: words[w].into(),
                fields: vec![
                    "metadata.name".into(),
                    "metadata.title".into(),
                    "metadata.description".into(),
                ],
            }),
            ..EntityQuery::default()
        };
        store
            .query(&Cursor::first(query), 100, None)
            .map(|p| assert!(!p.items.is_empty()))
    })?;
    report_line("full-text, limit 100, with totalItems", &full_text);

    let components_only = Predicate::from_filter_params(&["kind=component".into()])?;
    let fields: Vec<String> = [
        "spec.type",
        "spec.lifecycle",
        "metadata.tags",
        "relations.ownedBy",
    ]
    .iter()
    .map(|f| (*f).to_owned())
    .collect();
    let facets = time(samples.div_ceil(10), || {
        store
            .facets(&fields, components_only.as_ref(), None)
            .map(|_| ())
    })?;
    report_line("facets (4 fields over components)", &facets);
    println!("rss after queries: {}", rss("VmRSS:"));
    Ok(())
}

/// Times `samples` runs of `f` after one untimed run; sorted.
pub fn time(
    samples: usize,
    mut f: impl FnMut() -> Result<(), CatalogError>,
) -> BenchResult<Vec<Duration>> {
    // One untimed run warms the page cache and the statement cache.
    f()?;
    let mut durations = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        f()?;
        durations.push(started.elapsed());
    }
    durations.sort();
    Ok(durations)
}

/// Prints p50 and p95 of sorted durations.
pub fn report_line(name: &str, sorted: &[Duration]) {
    let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name:<48} p50 {:>9.3} ms   p95 {:>9.3} ms   ({} samples)",
        at(0.50).as_secs_f64() * 1000.0,
        at(0.95).as_secs_f64() * 1000.0,
        sorted.len()
    );
}

/// A line of /proc/self/status (`VmRSS:`, `VmHWM:`), e.g. `123 MiB`.
fn rss(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{} MiB", kib / 1024))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// CPU time of the process so far (every thread, user and kernel), in
/// seconds: on a shared machine it varies less than the elapsed time.
fn cpu_seconds() -> f64 {
    // /proc/self/stat: fields 14 and 15 (utime, stime) in clock ticks,
    // counted after the parenthesised command name, which may hold spaces.
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let field = |i: usize| {
        after_name
            .split_whitespace()
            .nth(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or_default()
    };
    // In USER_HZ ticks, which Linux fixes at 100 a second for user space.
    (field(11) + field(12)) / 100.0
}

/// Bytes the process has read and written through system calls so far
/// (`rchar`, `wchar` of /proc/self/io, page cache hits included).
fn io() -> String {
    let status = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let bytes = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    match (bytes("rchar:"), bytes("wchar:")) {
        (Some(read), Some(written)) => format!(
            "{:.1} GiB read, {:.1} GiB written",
            read as f64 / f64::from(1u32 << 30),
            written as f64 / f64::from(1u32 << 30)
        ),
        _ => "unknown".into(),
    }
}
