//! `greenroom bench http`: Greenroom measured the way its users meet it.
//!
//! The binary starts itself as a child process (`greenroom serve` on a
//! free loopback port with a fresh data directory), lets the child ingest
//! a generated catalog through its own refresh loop, and takes every
//! figure over HTTP: cold and warm start, ingestion, the catalog API one
//! request at a time and under concurrent load, the whole catalog in one
//! answer with the child's memory, and an entity page with and without
//! plugin cards. It prints one markdown table for docs/performance.md.
//!
//! Three servers run one after the other, never side by side:
//!
//! 1. `serve --demo` on an empty data directory, twice: the start with an
//!    empty compile cache, then with the cache it filled;
//! 2. the generated catalog and no plugins: ingestion, the API, the whole
//!    catalog, the entity page without cards;
//! 3. the same data directory with `--demo` added: the entity page with
//!    Soundcheck's card, once the tasks `--demo` runs at start are done.
//!
//! The client is one thread on the same machine: on a small machine it
//! takes CPU from the server it measures, which the table's core count
//! lets a reader weigh.

use anyhow::{Context as _, bail};
use serde_json::Value;
use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// What `greenroom bench http` is asked to measure.
pub struct Options {
    /// Entities in the generated catalog.
    pub entities: usize,
    /// Concurrent keep-alive connections of the throughput run.
    pub connections: usize,
    /// How long the throughput run lasts.
    pub duration: Duration,
    /// Timed requests of each sequential measurement.
    pub samples: usize,
    /// How long after the whole-catalog answer memory is read again.
    pub settle: Duration,
}

/// How long a child may take to print where it serves: it opens its port
/// before compiling anything, so only a broken start takes longer.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a child may take to answer a page and compile its plugins: a
/// debug build on a loaded 2-core machine compiles the demo's plugins in
/// about a minute.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

/// How long ingestion, and the tasks `--demo` runs at start, may take: a
/// million entities on a busy 2-core machine is well under it; a child
/// that needs longer is stuck, and its log says why.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(3600);

/// Between two polls while waiting for a start: short against the tens of
/// milliseconds a warm start takes, so the wait adds little to the figure.
const START_POLL: Duration = Duration::from_millis(2);

/// Between two polls of the catalog's size while it is ingested: a count
/// costs the server a few milliseconds at 100 000 entities, so polling
/// more often would slow what it measures.
const INGEST_POLL: Duration = Duration::from_millis(100);

/// The demo plugin that draws an entity card, and the tasks `--demo` runs
/// once at start (`collect`, `evaluate`): its card is measured once both
/// have run, so that it draws levels rather than an empty card, and no
/// task competes with the pages for the CPU.
const CARD_PLUGIN: &str = "soundcheck";
const CARD_PLUGIN_TASKS: u64 = 2;
const CARD_TITLE: &str = "Soundcheck";

/// Terms the full-text query rotates through: words of generated names and
/// descriptions, as the catalog benchmark uses.
const FULL_TEXT_TERMS: [&str; 6] = ["ledger", "payment", "invoice", "fraud", "gateway", "refund"];

/// Runs the benchmark and prints its table.
pub fn run(options: &Options) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with --release for real numbers");
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let catalog = GeneratedCatalog::write(&scratch.path().join("catalog"), options.entities)?;
    let bench = Bench {
        binary: std::env::current_exe().context("cannot find this program's own binary")?,
        scratch: scratch.path().to_owned(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .context("cannot build an HTTP client")?,
        catalog,
    };
    let mut table = Table::default();
    machine(&mut table, options, &bench.catalog);
    // One thread: the client takes one core at most from the server.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tokio.block_on(async {
        bench.start(&mut table).await?;
        let data_dir = scratch.path().join("data");
        let bare_page = bench.catalog_server(&data_dir, options, &mut table).await?;
        bench
            .card_server(&data_dir, options.samples, bare_page, &mut table)
            .await
    })?;
    print!("{}", table.markdown());
    Ok(())
}

/// The machine, the build and the catalog: the table's first rows.
fn machine(table: &mut Table, options: &Options, catalog: &GeneratedCatalog) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let memory = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|kib| kib.trim_end_matches(" kB").parse::<u64>().ok())
        .map_or_else(
            || "unknown".into(),
            |kib| format!("{} GiB", kib / 1024 / 1024),
        );
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    table.row(
        "machine",
        format!("{cores} cores ({cpu}), {memory}; load average {load} at the start"),
    );
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".into(), |v| v.trim().to_owned());
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    table.row(
        "build",
        format!(
            "greenroom {}, {build}; {rustc} on PATH",
            env!("CARGO_PKG_VERSION")
        ),
    );
    table.row(
        "date",
        humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    );
    table.row(
        "catalog",
        format!(
            "{} entities generated ({} components, {} owning teams), {} requests per sequential measure, {} connections for {} s",
            options.entities,
            catalog.components.len(),
            catalog.teams.len(),
            options.samples,
            options.connections,
            options.duration.as_secs()
        ),
    );
}

/// The first line of a `/proc` file that starts with `key`, its value.
fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// What the benchmark shares between its servers.
struct Bench {
    binary: PathBuf,
    scratch: PathBuf,
    client: reqwest::Client,
    catalog: GeneratedCatalog,
}

impl Bench {
    /// Starts `serve --demo` on an empty data directory, then again on the
    /// cache the first start filled.
    async fn start(&self, table: &mut Table) -> anyhow::Result<()> {
        let data_dir = self.scratch.join("start");
        for cache in ["empty", "warm"] {
            let started = Instant::now();
            let server = self.serve(&data_dir, None, true, &format!("start-{cache}"))?;
            wait_for_ok(&self.client, &server.url("/"), READY_TIMEOUT).await?;
            let page = started.elapsed();
            wait_for_ok(&self.client, &server.url("/readyz"), READY_TIMEOUT).await?;
            let ready = started.elapsed();
            let plugins = self.json(&server.url("/api/plugins")).await?["items"]
                .as_array()
                .map_or(0, Vec::len);
            table.row(
                format!("`serve --demo` ({plugins} plugins), {cache} compile cache: start to `GET /` 200 / to `/readyz` 200"),
                format!("{} / {}", millis(page), millis(ready)),
            );
        }
        Ok(())
    }

    /// The generated catalog and no plugins: ingestion, the API, the whole
    /// catalog and the entity page without cards, whose latency it returns.
    async fn catalog_server(
        &self,
        data_dir: &Path,
        options: &Options,
        table: &mut Table,
    ) -> anyhow::Result<Latency> {
        let config = self.config(false)?;
        let started = Instant::now();
        let server = self.serve(data_dir, Some(&config), false, "catalog")?;
        self.wait_for_catalog(&server).await?;
        let ingested = started.elapsed();
        table.row(
            format!(
                "ingest {} entities through the refresh loop (start to `totalItems` = {})",
                self.catalog.documents, self.catalog.expected
            ),
            format!(
                "{:.1} s ({:.0} entities/s)",
                ingested.as_secs_f64(),
                self.catalog.documents as f64 / ingested.as_secs_f64()
            ),
        );
        table.row(
            "server memory after ingestion",
            server.memory()?.to_string(),
        );

        let catalog = &self.catalog;
        let api = server.url("/api/catalog");
        let by_name = self
            .latency(options.samples, || {
                self.client.get(format!(
                    "{api}/entities/by-name/component/default/{}",
                    catalog.component()
                ))
            })
            .await?;
        table.row("by-name, one request at a time", by_name.to_string());

        let load = throughput(&server, Arc::new(catalog.components.clone()), options).await?;
        table.row(
            format!(
                "by-name, {} keep-alive connections for {} s",
                options.connections,
                options.duration.as_secs()
            ),
            load.to_string(),
        );
        table.row("server memory after the load", server.memory()?.to_string());

        let by_query = |filter: String| {
            self.client
                .get(format!("{api}/entities/by-query"))
                .query(&[("filter", filter.as_str()), ("limit", "100")])
        };
        let owned = self
            .latency(options.samples, || {
                by_query(format!(
                    "relations.ownedBy=group:default/{}",
                    catalog.team()
                ))
            })
            .await?;
        table.row(
            "by-query `filter=relations.ownedBy=group:default/<team>`, limit 100",
            owned.to_string(),
        );
        let owner = self
            .latency(options.samples, || {
                by_query(format!("spec.owner={}", catalog.team()))
            })
            .await?;
        table.row(
            "by-query `filter=spec.owner=<team>`, limit 100",
            owner.to_string(),
        );

        let facets = self
            .latency(options.samples.div_ceil(10), || {
                self.client.get(format!(
                    "{api}/entity-facets?facet=spec.type&facet=spec.lifecycle&facet=metadata.tags&facet=spec.owner&filter=kind=component"
                ))
            })
            .await?;
        table.row(
            "entity-facets: type, lifecycle, tags, owner of components",
            facets.to_string(),
        );

        let mut term = FULL_TEXT_TERMS.iter().cycle();
        let full_text = self
            .latency(options.samples, || {
                let term = term.next().expect("a cycle never ends");
                self.client
                    .get(format!("{api}/entities/by-query"))
                    .query(&[("fullTextFilterTerm", *term), ("limit", "100")])
            })
            .await?;
        table.row(
            "by-query `fullTextFilterTerm=<word>` (no fields), limit 100",
            full_text.to_string(),
        );

        self.whole_catalog(&server, options.settle, table).await?;

        let page = self.entity_page(&server, options.samples).await?;
        table.row(
            "entity page `/catalog/default/component/<name>`, no plugins",
            page.latency.to_string(),
        );
        Ok(page.latency)
    }

    /// `GET /api/catalog/entities` unpaged, and the server's memory before,
    /// right after and `settle` after.
    async fn whole_catalog(
        &self,
        server: &Server,
        settle: Duration,
        table: &mut Table,
    ) -> anyhow::Result<()> {
        let before = server.memory()?;
        let started = Instant::now();
        let mut response = self
            .client
            .get(server.url("/api/catalog/entities"))
            .send()
            .await?
            .error_for_status()?;
        let headers = started.elapsed();
        let mut bytes = 0;
        while let Some(chunk) = response.chunk().await? {
            bytes += chunk.len();
        }
        let body = started.elapsed();
        let after = server.memory()?;
        tokio::time::sleep(settle).await;
        let settled = server.memory()?;
        table.row(
            "whole catalog `GET /api/catalog/entities`: headers / last byte, size",
            format!(
                "{} / {}, {:.1} MiB",
                millis(headers),
                millis(body),
                bytes as f64 / (1024.0 * 1024.0)
            ),
        );
        table.row(
            format!(
                "server memory before / right after / {} s after the whole catalog",
                settle.as_secs()
            ),
            format!("{before} / {after} / {settled}"),
        );
        Ok(())
    }

    /// The same data directory with `--demo`: the entity page with the
    /// demo plugins' cards, and what they add to `bare_page`.
    async fn card_server(
        &self,
        data_dir: &Path,
        samples: usize,
        bare_page: Latency,
        table: &mut Table,
    ) -> anyhow::Result<()> {
        let config = self.config(true)?;
        let server = self.serve(data_dir, Some(&config), true, "cards")?;
        wait_for_ok(&self.client, &server.url("/readyz"), READY_TIMEOUT).await?;
        let tasks_started = Instant::now();
        self.wait_for_tasks(&server).await?;
        let tasks = tasks_started.elapsed();
        let page = self.entity_page(&server, samples).await?;
        if !page.body.contains(CARD_TITLE) {
            bail!(
                "the entity page shows no {CARD_TITLE} card; the server's log is {}",
                server.log.display()
            );
        }
        table.row(
            format!("entity page, `--demo` plugins ({CARD_TITLE}'s card; its tasks at start took {:.1} s)", tasks.as_secs_f64()),
            page.latency.to_string(),
        );
        let cost = page.latency.p50.as_secs_f64() - bare_page.p50.as_secs_f64();
        table.row(
            "the cards' cost (difference of the p50s)",
            format!("{:.2} ms", cost * 1000.0),
        );
        Ok(())
    }

    /// A configuration for the generated catalog; with `demo` the server
    /// adds its plugins. Refreshing only once an hour keeps a second
    /// reading of the catalog from running under the measurements.
    fn config(&self, demo: bool) -> anyhow::Result<PathBuf> {
        let target = self.catalog.all_yaml.to_string_lossy();
        let text = format!(
            "[auth]\nguest = true\n\n[catalog]\nrefresh-interval = \"1h\"\n\n[[catalog.locations]]\ntype = \"file\"\ntarget = {}\n",
            toml::Value::String(target.into_owned())
        );
        let path = self
            .scratch
            .join(if demo { "demo.toml" } else { "catalog.toml" });
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// Starts `greenroom serve` on `data_dir`; its log goes to `<name>.log`
    /// in the scratch directory.
    fn serve(
        &self,
        data_dir: &Path,
        config: Option<&Path>,
        demo: bool,
        name: &str,
    ) -> anyhow::Result<Server> {
        let mut args: Vec<OsString> = vec!["serve".into(), "--listen".into(), "127.0.0.1:0".into()];
        args.extend(["--data-dir".into(), data_dir.into()]);
        if let Some(config) = config {
            args.extend(["--config".into(), config.into()]);
        }
        if demo {
            args.push("--demo".into());
        }
        eprintln!("starting greenroom {name}");
        Server::start(
            &self.binary,
            &args,
            self.scratch.join(format!("{name}.log")),
        )
    }

    /// Waits until the catalog holds every generated entity.
    async fn wait_for_catalog(&self, server: &Server) -> anyhow::Result<()> {
        let url = server.url("/api/catalog/entities/by-query?limit=1");
        let started = Instant::now();
        loop {
            let count = self.json(&url).await?["totalItems"].as_u64().unwrap_or(0);
            if count >= self.catalog.expected {
                return Ok(());
            }
            if started.elapsed() > CATALOG_TIMEOUT {
                bail!(
                    "the catalog holds {count} of {} entities after {} s; the server's log is {}",
                    self.catalog.expected,
                    CATALOG_TIMEOUT.as_secs(),
                    server.log.display()
                );
            }
            tokio::time::sleep(INGEST_POLL).await;
        }
    }

    /// Waits until the card plugin has run the tasks `--demo` starts with.
    async fn wait_for_tasks(&self, server: &Server) -> anyhow::Result<()> {
        let url = server.url("/api/plugins");
        let started = Instant::now();
        loop {
            let plugins = self.json(&url).await?;
            let calls = plugins["items"]
                .as_array()
                .and_then(|items| items.iter().find(|p| p["id"] == CARD_PLUGIN))
                .with_context(|| format!("the demo has no {CARD_PLUGIN} plugin"))?["health"]
                ["calls"]
                .as_u64()
                .unwrap_or(0);
            if calls >= CARD_PLUGIN_TASKS {
                return Ok(());
            }
            if started.elapsed() > CATALOG_TIMEOUT {
                bail!(
                    "{CARD_PLUGIN} ran {calls} of its {CARD_PLUGIN_TASKS} tasks in {} s; the server's log is {}",
                    CATALOG_TIMEOUT.as_secs(),
                    server.log.display()
                );
            }
            tokio::time::sleep(INGEST_POLL).await;
        }
    }

    /// `samples` entity pages of random components, and the last page.
    async fn entity_page(&self, server: &Server, samples: usize) -> anyhow::Result<EntityPage> {
        let mut body = String::new();
        let mut durations = Vec::with_capacity(samples);
        // One untimed page warms the server's caches.
        for i in 0..=samples {
            let url = server.url(&format!(
                "/catalog/default/component/{}",
                self.catalog.component()
            ));
            let started = Instant::now();
            body = self
                .client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            if i > 0 {
                durations.push(started.elapsed());
            }
        }
        Ok(EntityPage {
            latency: Latency::of(durations).context("no samples")?,
            body,
        })
    }

    /// Times `samples` requests made by `request`, one at a time, after
    /// an untimed one; each must answer 200, and is read to its end.
    async fn latency(
        &self,
        samples: usize,
        mut request: impl FnMut() -> reqwest::RequestBuilder,
    ) -> anyhow::Result<Latency> {
        request().send().await?.error_for_status()?.bytes().await?;
        let mut durations = Vec::with_capacity(samples);
        for _ in 0..samples {
            let request = request();
            let started = Instant::now();
            request.send().await?.error_for_status()?.bytes().await?;
            durations.push(started.elapsed());
        }
        Latency::of(durations).context("no samples")
    }

    async fn json(&self, url: &str) -> anyhow::Result<Value> {
        let body = self
            .client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        serde_json::from_slice(&body).with_context(|| format!("{url} answered no JSON"))
    }
}

struct EntityPage {
    latency: Latency,
    /// The last page drawn, to check what it shows.
    body: String,
}

/// Waits until `url` answers 200; connection errors and other statuses
/// are retried.
async fn wait_for_ok(client: &reqwest::Client, url: &str, timeout: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status() == reqwest::StatusCode::OK
        {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!("{url} did not answer 200 within {} s", timeout.as_secs());
        }
        tokio::time::sleep(START_POLL).await;
    }
}

/// `options.connections` connections, each its own client (so its own
/// keep-alive connection), asking for random components' by-name until
/// `options.duration` is up.
async fn throughput(
    server: &Server,
    names: Arc<Vec<String>>,
    options: &Options,
) -> anyhow::Result<Throughput> {
    let base = server.url("/api/catalog/entities/by-name/component/default");
    let deadline = Instant::now() + options.duration;
    let started = Instant::now();
    let mut connections = tokio::task::JoinSet::new();
    for _ in 0..options.connections.max(1) {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(60))
            .build()?;
        let (base, names) = (base.clone(), Arc::clone(&names));
        connections.spawn(async move {
            let mut durations = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let name = &names[rand::random_range(0..names.len())];
                let started = Instant::now();
                let answer = match client.get(format!("{base}/{name}")).send().await {
                    Ok(response) if response.status().is_success() => response.bytes().await,
                    _ => {
                        errors += 1;
                        continue;
                    }
                };
                match answer {
                    Ok(_) => durations.push(started.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (durations, errors)
        });
    }
    let mut durations = Vec::new();
    let mut errors = 0;
    while let Some(connection) = connections.join_next().await {
        let (mut d, e) = connection.context("a connection's task panicked")?;
        durations.append(&mut d);
        errors += e;
    }
    let elapsed = started.elapsed();
    Ok(Throughput {
        requests: durations.len() as u64,
        errors,
        elapsed,
        latency: Latency::of(durations).context("no request succeeded under load")?,
    })
}

struct Throughput {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latency: Latency,
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0} requests/s; {}; {} errors",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.latency,
            self.errors
        )
    }
}

/// The generated catalog, written to disk, and the names the requests
/// pick from.
struct GeneratedCatalog {
    /// The Location that lists every file.
    all_yaml: PathBuf,
    /// Entities generated.
    documents: u64,
    /// Entities a server holds once it has read `all_yaml`: the generated
    /// ones, the `all.yaml` Location, and the Location entity the server
    /// makes for the configured target itself.
    expected: u64,
    components: Vec<String>,
    /// The teams that own components.
    teams: Vec<String>,
}

impl GeneratedCatalog {
    fn write(dir: &Path, entities: usize) -> anyhow::Result<GeneratedCatalog> {
        let files = greenroom_catalog::generate::organisation(entities);
        for (path, text) in &files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().expect("generated paths have a folder"))?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut catalog = GeneratedCatalog::read(&files);
        catalog.all_yaml = dir.join("all.yaml");
        Ok(catalog)
    }

    /// What the generator's `files` hold; `all_yaml` is left empty.
    fn read(files: &[(String, String)]) -> GeneratedCatalog {
        let documents: Vec<&str> = files
            .iter()
            .filter(|(path, _)| path != "all.yaml")
            .flat_map(|(_, text)| text.split("---\n"))
            .collect();
        let mut components = Vec::new();
        let mut teams = Vec::new();
        for document in &documents {
            if document.lines().nth(1) != Some("kind: Component") {
                continue;
            }
            if let Some(name) = field(document, "name") {
                components.push(name.to_owned());
            }
            if let Some(owner) = field(document, "owner") {
                teams.push(owner.to_owned());
            }
        }
        teams.sort();
        teams.dedup();
        let generated = documents.len() as u64;
        GeneratedCatalog {
            all_yaml: PathBuf::new(),
            documents: generated,
            expected: generated + 2,
            components,
            teams,
        }
    }

    /// A random component's name.
    fn component(&self) -> &str {
        &self.components[rand::random_range(0..self.components.len())]
    }

    /// A random team that owns components.
    fn team(&self) -> &str {
        &self.teams[rand::random_range(0..self.teams.len())]
    }
}

/// The value of the first `  key: value` line of a generated document.
fn field<'a>(document: &'a str, key: &str) -> Option<&'a str> {
    document
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(key)?.strip_prefix(": "))
}

/// A running `greenroom serve`, killed when dropped (also when the
/// benchmark fails half-way).
struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    base: String,
    /// Where its log (standard error) goes.
    log: PathBuf,
}

impl Server {
    fn start(binary: &Path, args: &[OsString], log: PathBuf) -> anyhow::Result<Server> {
        let stderr = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(binary)
            .args(args)
            .env_remove("GREENROOM_CONFIG")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        // The thread keeps reading after the address, so the child never
        // blocks on (or is killed by) a full or closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Greenroom is serving on ") {
                    let _ = sender.send(url.to_owned());
                }
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            log,
        };
        server.base = receiver.recv_timeout(LISTEN_TIMEOUT).with_context(|| {
            format!(
                "the server did not say where it serves; its log is {}",
                server.log.display()
            )
        })?;
        Ok(server)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Its resident memory now and at its peak.
    fn memory(&self) -> anyhow::Result<Memory> {
        let file = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?;
        Memory::parse(&status).with_context(|| format!("{file} has no VmRSS and VmHWM"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's resident memory (`VmRSS`) and its peak (`VmHWM`), in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Memory {
    resident_kib: u64,
    peak_kib: u64,
}

impl Memory {
    /// From the text of `/proc/<pid>/status`.
    fn parse(status: &str) -> Option<Memory> {
        let kib = |key: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(key))?;
            line[key.len()..].split_whitespace().next()?.parse().ok()
        };
        Some(Memory {
            resident_kib: kib("VmRSS:")?,
            peak_kib: kib("VmHWM:")?,
        })
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} MiB (peak {} MiB)",
            self.resident_kib / 1024,
            self.peak_kib / 1024
        )
    }
}

/// The median and 95th percentile of request durations.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Latency {
    p50: Duration,
    p95: Duration,
    samples: usize,
}

impl Latency {
    /// `None` without samples.
    fn of(mut durations: Vec<Duration>) -> Option<Latency> {
        durations.sort_unstable();
        Some(Latency {
            p50: percentile(&durations, 50)?,
            p95: percentile(&durations, 95)?,
            samples: durations.len(),
        })
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {} / p95 {} ({} samples)",
            millis(self.p50),
            millis(self.p95),
            self.samples
        )
    }
}

/// The nearest-rank `p`th percentile of `sorted`: the smallest sample
/// with at least `p` % of the samples at or below it.
fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// The figures, in the order measured.
#[derive(Default)]
struct Table {
    rows: Vec<(String, String)>,
}

impl Table {
    /// Adds a row, and shows it at once on standard error: a long run
    /// shows its progress.
    fn row(&mut self, measure: impl Into<String>, result: impl Into<String>) {
        let (measure, result) = (measure.into(), result.into());
        eprintln!("{measure}: {result}");
        self.rows.push((measure, result));
    }

    fn markdown(&self) -> String {
        let cell = |text: &str| text.replace('|', "\\|");
        let mut out = String::from("| measure | result |\n| --- | --- |\n");
        for (measure, result) in &self.rows {
            out.push_str(&format!("| {} | {} |\n", cell(measure), cell(result)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let latency = Latency::of(samples).expect("samples");
        assert_eq!(
            (latency.p50, latency.p95, latency.samples),
            (ms(50), ms(95), 100)
        );
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let latency = Latency::of(vec![ms(7)]).expect("a sample");
        assert_eq!((latency.p50, latency.p95), (ms(7), ms(7)));
    }

    #[test]
    fn no_samples_have_no_percentiles() {
        assert_eq!(Latency::of(Vec::new()), None);
    }

    #[test]
    fn the_table_is_markdown_with_pipes_escaped() {
        let mut table = Table::default();
        table.row("by-name", "p50 1 ms");
        table.row("a | b", "c");
        assert_eq!(
            table.markdown(),
            "| measure | result |\n| --- | --- |\n| by-name | p50 1 ms |\n| a \\| b | c |\n"
        );
    }

    #[test]
    fn memory_is_read_from_proc_status() {
        let status = "Name:\tgreenroom\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        let memory = Memory::parse(status).expect("both fields");
        assert_eq!(
            memory,
            Memory {
                resident_kib: 102_400,
                peak_kib: 204_800
            }
        );
        assert_eq!(memory.to_string(), "100 MiB (peak 200 MiB)");
        assert_eq!(Memory::parse("VmRSS:\t1 kB\n"), None);
    }

    #[test]
    fn the_generated_catalog_yields_its_components_and_owning_teams() {
        let files = greenroom_catalog::generate::organisation(1000);
        let catalog = GeneratedCatalog::read(&files);
        let shape = greenroom_catalog::generate::Shape::for_total(1000);
        assert_eq!(catalog.documents, 1000);
        assert_eq!(catalog.expected, 1002);
        assert_eq!(catalog.components.len(), shape.components);
        assert!(
            catalog
                .components
                .iter()
                .all(|n| n.len() > 7 && !n.contains(' '))
        );
        assert!(!catalog.teams.is_empty());
        assert!(catalog.teams.iter().all(|t| t.starts_with("team-")));
    }
}
