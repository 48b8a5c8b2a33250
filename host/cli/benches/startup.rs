//! Host start to first page, with a warm compile cache: the time from
//! `greenroom serve --demo` to the home page answering 200, as an operator
//! restarting the portal sees it.
//!
//! Run with `cargo bench -p greenroom --bench startup`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn start_to_first_page(data_dir: &std::path::Path) {
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
    let status = client
        .get(format!("{address}/"))
        .send()
        .expect("home page")
        .status();
    assert!(status.is_success());
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
    group.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
