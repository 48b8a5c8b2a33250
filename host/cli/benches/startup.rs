//! Host start to first page: the time from `greenroom serve --demo` to
//! the home page answering 200, as an operator restarting the portal sees
//! it — with a warm compile cache (a restart), and with an empty one (a
//! first start or an upgrade), when plugins compile in the background and
//! the page draws "starting" cards for those not ready. The last measures
//! how long an empty cache takes until every plugin is ready (`/readyz`).
//!
//! Run with `cargo bench -p greenroom --bench startup`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn start_to_first_page(data_dir: &std::path::Path) {
    start_until(data_dir, "/");
}

/// Starts the demo and asks `path` until it answers 2xx.
fn start_until(data_dir: &std::path::Path, path: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_greenroom"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("GREENROOM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("greenroom starts");
    let stdout = child.stdout.take().expect("piped");
    let address = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("Greenroom is serving on ")
                .map(str::to_owned)
        })
        .expect("greenroom says where it serves");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    loop {
        let status = client
            .get(format!("{address}{path}"))
            .send()
            .expect("an answer")
            .status();
        if status.is_success() {
            break;
        }
        // `/readyz` answers 503 while plugins compile.
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn startup(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    start_to_first_page(dir.path());
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function("warm_cache_to_first_page", |b| {
        b.iter(|| start_to_first_page(dir.path()))
    });
    // A fresh data directory each time: its compile cache is empty.
    let fresh = || tempfile::tempdir().expect("temp dir");
    group.bench_function("cold_cache_to_first_page", |b| {
        b.iter_batched(
            fresh,
            |dir| start_to_first_page(dir.path()),
            criterion::BatchSize::PerIteration,
        )
    });
    group.bench_function("cold_cache_to_all_plugins_ready", |b| {
        b.iter_batched(
            fresh,
            |dir| start_until(dir.path(), "/readyz"),
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
