//! `greenroom`: the one binary an operator runs.
//!
//! It wires the host crates together — store, runtime, broker, portal —
//! from a configuration file, and offers the commands operators and plugin
//! authors use from a shell.

mod auth;
mod author;
mod bench;
mod catalog;
mod config;
mod data_lock;
mod demo;
mod egress;
mod install;
mod license;
mod plugins;
mod publish;
mod rbac;
mod remote;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use config::{Config, Overrides};
use greenroom_contract::Coverage;
use greenroom_lifecycle::PluginHost;
use greenroom_portal::{AppParts, AppState, PortalConfig};
use greenroom_runtime::{Runtime, RuntimeConfig};
use greenroom_store::Database;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// mimalloc, for Rust and (with `override`) for SQLite's C code: catalog
/// ingestion allocates on one thread and frees on another, which glibc's
/// allocator handled slowly (a fifth of the ingestion profile); measured
/// in docs/performance.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Greenroom: a developer portal whose plugins are sandboxed WebAssembly
/// components.
#[derive(Parser)]
#[command(
    name = "greenroom",
    version,
    about,
    long_about = "Greenroom: a developer portal whose plugins are sandboxed WebAssembly components.\n\n\
                  Plugins are loaded at run time, each in its own sandbox, and reach only what the \
                  operator granted them.",
    after_help = "Examples:\n  greenroom serve --demo                  serve the demo portal on http://127.0.0.1:7007\n  \
                  greenroom serve --config greenroom.toml  serve with your configuration\n  \
                  greenroom plugin inspect my_plugin.wasm  check a plugin before installing it\n  \
                  greenroom catalog validate catalog/      lint catalog-info.yaml files\n  \
                  greenroom catalog import ./all.yaml      add a catalog location"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal.
    Serve(ServeArgs),
    /// Work with plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Work with the software catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Measure performance; prints the numbers docs/performance.md records.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Publisher keys, to sign plugins.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Edit a marketplace index.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Premium licences: issue one (for tests and demos), add, list,
    /// remove. `licence`, as the portal spells it; `license` works too.
    #[command(subcommand, name = "licence", alias = "license")]
    License(license::LicenseCommand),
    /// Roles and policies: export them to a YAML file for review, import
    /// one (checked whole before anything changes).
    #[command(subcommand)]
    Rbac(rbac::RbacCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Generate a publisher key pair: the signing key goes to a new file
    /// readable only by you; the public key is printed for operators.
    Generate {
        /// The signing key file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum IndexCommand {
    /// Add (or replace) a signed entry for a plugin version in an index
    /// file, keeping its comments and other entries.
    Add {
        /// The index file (created if missing).
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
        /// Your signing key (from `greenroom keys generate`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The publisher name operators trust your key under.
        #[arg(long)]
        publisher: String,
        /// The component file.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "bundled",
            conflicts_with = "bundled"
        )]
        artifact: Option<PathBuf>,
        /// Where the index says the artifact is: a path relative to the
        /// index, `file:/…` or `https://…` [default: the file's path
        /// relative to the index]
        #[arg(long, requires = "artifact")]
        location: Option<String>,
        /// A plugin compiled into this binary instead of a file.
        #[arg(long, value_name = "NAME")]
        bundled: Option<String>,
    },
    /// Check every version in an index: its artifact's digest, its
    /// publisher's signature (against the publishers the configuration
    /// trusts, and --trust), that this host can load it, and that its
    /// manifest matches the entry. Exits non-zero if any is refused.
    Verify {
        #[command(flatten)]
        source: SourceArgs,
        /// The index file.
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
        /// Also trust this publisher: `NAME=ed25519:<base64>`.
        #[arg(long, value_name = "NAME=KEY")]
        trust: Vec<String>,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Check catalog files (paths, globs, folders or URLs) as ingestion
    /// would, and print every problem as `file:line:column: rule`. Exits
    /// non-zero when there is any.
    Validate {
        /// Files, folders (every .yaml/.yml below), globs or URLs.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Register a location (a file, glob or URL) in the data directory's
    /// catalog and read it now; a running server refreshes it from then on.
    Import {
        #[command(flatten)]
        data: DataDirArgs,
        /// Only show what would be added.
        #[arg(long)]
        dry_run: bool,
        /// The file, glob or URL.
        location: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Time a catalog query filtered by a user's RBAC conditions against
    /// the same query unfiltered, and one permission decision.
    Rbac {
        /// How many entities.
        #[arg(long, default_value_t = 100_000)]
        entities: usize,
        /// Timed repetitions of each query.
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// Soundcheck over a generated catalog: evaluate every check of the
    /// demo's two tracks over N components (the plugin's own `evaluate`
    /// task, in the real runtime), and draw its entity card.
    Soundcheck {
        /// How many components.
        #[arg(long, default_value_t = 10_000)]
        entities: usize,
        /// Timed entity card renders.
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// Start this binary as a server, have it ingest a generated catalog
    /// of N entities, and time over HTTP what its users see: start,
    /// ingestion, the catalog API alone and under load, the whole catalog
    /// with the server's memory, and an entity page with and without
    /// plugin cards. Prints a markdown table.
    Http {
        /// How many entities.
        #[arg(long, default_value_t = 10_000)]
        entities: usize,
        /// Concurrent keep-alive connections of the throughput run.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// How long the throughput run lasts, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Timed requests of each sequential measurement.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Seconds after the whole-catalog answer before the server's
        /// memory is read again.
        #[arg(long, default_value_t = 10)]
        settle: u64,
    },
    /// Generate a realistic catalog of N entities, ingest it into a fresh
    /// database and time ingestion and the API's queries.
    Catalog {
        /// How many entities.
        #[arg(long, default_value_t = 100_000)]
        entities: usize,
        /// Timed repetitions of each query.
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
}

#[derive(Args)]
struct SourceArgs {
    /// Configuration file (TOML). Environment variables `GREENROOM_*`
    /// override it, and flags override both.
    #[arg(long, short, value_name = "FILE", env = "GREENROOM_CONFIG")]
    config: Option<PathBuf>,
    /// Demo mode: load every bundled plugin, granted what it asks for, let
    /// everyone in as a guest, and trust the demo publisher that signs
    /// `marketplace-index.toml`. Needs no configuration.
    #[arg(long)]
    demo: bool,
}

/// The configuration and the data directory a command works on.
#[derive(Args)]
struct DataDirArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Where the database is [default: ./greenroom-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDirArgs {
    /// The configuration, `--data-dir` applied.
    fn config(self) -> anyhow::Result<config::Config> {
        Ok(self.configure()?.0)
    }

    /// The configuration and the folder its relative paths are under.
    fn configure(self) -> anyhow::Result<(config::Config, PathBuf)> {
        let overrides = Overrides {
            listen: None,
            data_dir: self.data_dir,
        };
        configure(&self.source, overrides, None)
    }

    /// Runs `f` with the configuration and its database.
    fn with_database(
        self,
        f: impl FnOnce(&config::Config, &Database) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let config = self.config()?;
        let db = open_database(&config)?;
        f(&config, &db)
    }
}

/// A marketplace index to read.
#[derive(Args)]
struct IndexArg {
    /// The index: a file, an https URL or `builtin` [default: the
    /// configured `[marketplace] indexes`]
    #[arg(long = "index", value_name = "FILE|URL")]
    location: Option<String>,
}

/// What `plugin install` and `plugin upgrade` take.
#[derive(Args)]
struct InstallArgs {
    #[command(flatten)]
    data: DataDirArgs,
    #[command(flatten)]
    index: IndexArg,
    #[command(flatten)]
    remote: RemoteArgs,
    /// The plugin's id.
    id: String,
    /// The version [default: the newest]
    #[arg(long)]
    version: Option<String>,
    /// Grant this (repeat); only what the plugin requests. Without any,
    /// you are asked about each capability.
    #[arg(long = "grant", value_name = "GRANT")]
    grants: Vec<String>,
    /// Grant everything it requests without asking.
    #[arg(long)]
    yes: bool,
}

/// A running server to act on instead of the data directory.
#[derive(Args)]
struct RemoteArgs {
    /// Act through this running server's admin API (e.g.
    /// http://127.0.0.1:7007) instead of on the data directory.
    #[arg(long, value_name = "URL", env = "GREENROOM_SERVER")]
    server: Option<String>,
    /// The server's admin token [default: the `admin-token` file in its
    /// data directory]
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GREENROOM_ADMIN_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
}

impl RemoteArgs {
    /// The server to act through, if one was named.
    fn connect(&self, config: &Config) -> anyhow::Result<Option<remote::Remote>> {
        let Some(server) = &self.server else {
            return Ok(None);
        };
        let token = match &self.token {
            Some(token) => token.clone(),
            None => {
                let path = config.data_dir.join("admin-token");
                std::fs::read_to_string(&path)
                    .with_context(|| {
                        format!(
                            "no admin token: pass --token, or run this on the server's machine with its --data-dir ({} is not readable)",
                            path.display()
                        )
                    })?
                    .trim()
                    .to_owned()
            }
        };
        Ok(Some(remote::Remote::new(server, token)?))
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Where to keep the database and compiled plugins [default: ./greenroom-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7007]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// List the plugins the configuration loads and those installed from an
    /// index, with what they ask for and what they are granted.
    List {
        #[command(flatten)]
        data: DataDirArgs,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Check a plugin file: its manifest, digest and contract version, and
    /// whether this host can load it.
    Inspect {
        /// The component (`.wasm`).
        file: PathBuf,
    },
    /// Create a plugin crate that builds at once: manifest, SDK
    /// dependency, a home widget and a unit test.
    New {
        /// The plugin's id (lower-case letters, digits and `-`), also the
        /// folder's name.
        name: String,
        /// Where to create it [default: ./NAME]
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        /// The greenroom-sdk folder to depend on [default: the SDK this
        /// binary was built with]
        #[arg(long, value_name = "DIR")]
        sdk: Option<PathBuf>,
    },
    /// Build a plugin crate to a component (`cargo build --release --target
    /// wasm32-wasip2`), check it as the host will, and print its digest.
    Build {
        /// The plugin's folder.
        #[arg(long, value_name = "DIR", default_value = ".")]
        path: PathBuf,
    },
    /// Serve a local portal (guest access, the demo catalog) with the
    /// plugin in DIR, granted everything it asks for, and rebuild and swap
    /// it in on every change of its sources, without restarting.
    Dev {
        /// The plugin's folder.
        #[arg(long, value_name = "DIR", default_value = ".")]
        path: PathBuf,
        /// Address to listen on [default: 127.0.0.1:7007]
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Where to keep the portal's data [default: DIR/target/greenroom-dev]
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Install (or upgrade) a plugin from a marketplace index into the
    /// data directory: fetch it, verify its digest, signature and manifest,
    /// show what it asks for and record what you grant. A running server on
    /// the same data directory loads it within seconds.
    Install(InstallArgs),
    /// Upgrade an installed plugin to the newest version (or --version):
    /// shows what changed in what it requests and asks only about what is
    /// new. A failed upgrade leaves the old version serving.
    Upgrade(InstallArgs),
    /// List the plugins of an index (whose id, name or summary contains
    /// TEXT), and which are installed here.
    Search {
        #[command(flatten)]
        data: DataDirArgs,
        #[command(flatten)]
        index: IndexArg,
        /// Text to look for.
        text: Option<String>,
    },
    /// Show what an index says about a plugin: publisher, versions, and what
    /// each version requests.
    Info {
        #[command(flatten)]
        data: DataDirArgs,
        #[command(flatten)]
        index: IndexArg,
        /// The plugin's id.
        id: String,
    },
    /// Remove an installed plugin; its stored data is kept unless --purge.
    Remove {
        #[command(flatten)]
        data: DataDirArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        /// The plugin's id.
        id: String,
        /// Also delete what the plugin stored.
        #[arg(long)]
        purge: bool,
    },
    /// Load an installed plugin that was disabled.
    Enable {
        #[command(flatten)]
        data: DataDirArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        /// The plugin's id.
        id: String,
    },
    /// Stop loading an installed plugin, keeping it installed.
    Disable {
        #[command(flatten)]
        data: DataDirArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        /// The plugin's id.
        id: String,
    },
    /// Print the digest and the publisher signature of a plugin file, as
    /// an index entry carries them.
    Sign {
        /// The component (`.wasm`).
        file: PathBuf,
        /// Your signing key (from `greenroom keys generate`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Plugin(PluginCommand::List { data, remote }) => plugin_list(data, remote),
        Command::Plugin(PluginCommand::Inspect { file }) => plugin_inspect(&file),
        Command::Catalog(CatalogCommand::Validate { paths }) => catalog::validate(&paths),
        Command::Catalog(CatalogCommand::Import {
            data,
            dry_run,
            location,
        }) => data.with_database(|config, db| catalog::import(config, db, &location, dry_run)),
        Command::Plugin(PluginCommand::Sign { file, key }) => publish::plugin_sign(&file, &key),
        Command::Plugin(PluginCommand::Install(args)) => plugin_install(args, false),
        Command::Plugin(PluginCommand::Upgrade(args)) => plugin_install(args, true),
        Command::Plugin(PluginCommand::Search { data, index, text }) => {
            data.config().and_then(|config| {
                install::search(&config, index.location.as_deref(), text.as_deref())
            })
        }
        Command::Plugin(PluginCommand::Info { data, index, id }) => data
            .config()
            .and_then(|config| install::info(&config, index.location.as_deref(), &id)),
        Command::Plugin(PluginCommand::Remove {
            data,
            remote,
            id,
            purge,
        }) => data
            .config()
            .and_then(|config| match remote.connect(&config)? {
                Some(remote) => install::remove_remote(&remote, &id, purge),
                None => install::remove(&config, &open_database(&config)?, &id, purge),
            }),
        Command::Plugin(PluginCommand::Enable { data, remote, id }) => {
            plugin_set_enabled(data, remote, &id, true)
        }
        Command::Plugin(PluginCommand::Disable { data, remote, id }) => {
            plugin_set_enabled(data, remote, &id, false)
        }
        Command::Plugin(PluginCommand::New { name, path, sdk }) => {
            author::new(&name, path.as_deref(), sdk.as_deref())
        }
        Command::Plugin(PluginCommand::Build { path }) => author::build(&path).map(|_| ()),
        Command::Plugin(PluginCommand::Dev {
            path,
            listen,
            data_dir,
        }) => plugin_dev(&path, listen, data_dir),
        Command::Keys(KeysCommand::Generate { out }) => publish::keys_generate(&out),
        Command::License(command) => license::run(command),
        Command::Rbac(command) => rbac::run(command),
        Command::Index(IndexCommand::Add {
            index,
            key,
            publisher,
            artifact,
            location,
            bundled,
        }) => {
            let source = match (&artifact, &bundled) {
                (Some(path), _) => Ok(publish::ArtifactSource::File {
                    path,
                    location: location.as_deref(),
                }),
                (None, Some(name)) => Ok(publish::ArtifactSource::Bundled(name)),
                (None, None) => Err(anyhow::anyhow!(
                    "give the plugin as --artifact FILE or --bundled NAME"
                )),
            };
            source.and_then(|source| publish::index_add(&index, &key, &publisher, source))
        }
        Command::Index(IndexCommand::Verify {
            source,
            index,
            trust,
        }) => configure(&source, Overrides::default(), None)
            .and_then(|(config, _)| publish::index_verify(&config, &index, &trust)),
        Command::Bench(BenchCommand::Rbac { entities, samples }) => bench::rbac(entities, samples),
        Command::Bench(BenchCommand::Soundcheck { entities, samples }) => {
            bench::soundcheck(entities, samples)
        }
        Command::Bench(BenchCommand::Http {
            entities,
            connections,
            seconds,
            samples,
            settle,
        }) => bench::http::run(&bench::http::Options {
            entities,
            connections,
            duration: std::time::Duration::from_secs(seconds),
            samples,
            settle: std::time::Duration::from_secs(settle),
        }),
        Command::Bench(BenchCommand::Catalog { entities, samples }) => {
            bench::catalog(entities, samples)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("GREENROOM_LOG").unwrap_or_else(|_| {
        EnvFilter::new("info,wasmtime=warn,cranelift_codegen=warn,tower_http=warn")
    });
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// The configuration with `--demo` applied; `upstream` is the demo's
/// recorded upstream, under `serve --demo`.
fn configure(
    source: &SourceArgs,
    overrides: Overrides,
    upstream: Option<&demo::DemoUpstream>,
) -> anyhow::Result<(Config, PathBuf)> {
    let (mut config, base) = config::load(source.config.as_deref(), overrides)?;
    if source.demo {
        config.auth.guest = true;
        // The first-party index is signed with the demo publisher's key.
        config
            .marketplace
            .trusted_publishers
            .push(config::TrustedPublisher {
                name: greenroom_marketplace::DEMO_PUBLISHER.into(),
                key: greenroom_marketplace::DEMO_PUBLISHER_KEY.into(),
            });
        if config.marketplace.indexes.is_empty() {
            config
                .marketplace
                .indexes
                .push(greenroom_marketplace::BUILTIN_INDEX.into());
        }
        demo::apply(&mut config.plugins, upstream)?;
    }
    Ok((config, base))
}

/// `greenroom plugin install|upgrade`, on the data directory or through a
/// server.
fn plugin_install(args: InstallArgs, upgrade: bool) -> anyhow::Result<()> {
    let config = args.data.config()?;
    let request = install::InstallRequest {
        id: &args.id,
        index: args.index.location.as_deref(),
        version: args.version.as_deref(),
        grants: &args.grants,
        yes: args.yes,
        upgrade,
    };
    match args.remote.connect(&config)? {
        Some(remote) => install::install_remote(&remote, &request),
        None => install::install(&config, &request),
    }
}

/// `greenroom plugin enable|disable`.
fn plugin_set_enabled(
    data: DataDirArgs,
    remote: RemoteArgs,
    id: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    let config = data.config()?;
    match remote.connect(&config)? {
        Some(remote) => install::set_enabled_remote(&remote, id, enabled),
        None => install::set_enabled(&config, &open_database(&config)?, id, enabled),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
    };
    // Plugins that call services get their recorded responses in the demo.
    let upstream = match args.source.demo {
        true => demo::DemoUpstream::bind()?,
        false => None,
    };
    let (config, base) = configure(&args.source, overrides, upstream.as_ref())?;
    if let Some(upstream) = upstream {
        upstream.serve_in_background()?;
    }
    serve_config(config, &base, args.source.demo, None)
}

/// `greenroom plugin dev`: builds the plugin, then serves it with the demo
/// catalog and swaps in every rebuild.
fn plugin_dev(
    folder: &Path,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let wasm = author::build(folder)?;
    let overrides = Overrides {
        listen,
        data_dir: Some(data_dir.unwrap_or_else(|| folder.join("target").join("greenroom-dev"))),
    };
    let (mut config, base) = config::load(None, overrides)?;
    config.auth.guest = true;
    let entry = config::PluginConfig {
        path: Some(wasm),
        grant: vec!["all".to_owned()],
        ..config::PluginConfig::default()
    };
    config.plugins.push(entry.clone());
    let reload = author::DevReload {
        folder: folder.to_owned(),
        entry,
        limits: config.limits.apply(greenroom_runtime::Limits::default())?,
    };
    serve_config(config, &base, true, Some(reload))
}

/// Serves the portal `config` describes; `demo` adds the demo catalog, and
/// `reload` watches a plugin's sources and swaps in every rebuild.
fn serve_config(
    config: config::Config,
    base: &Path,
    demo: bool,
    reload: Option<author::DevReload>,
) -> anyhow::Result<()> {
    // Held until the server stops: a second server on this data directory
    // would run every background job twice.
    let _lock = data_lock::lock_for_serving(&config.data_dir)?;
    let db = open_database(&config)?;
    let catalog = catalog::open(&config, base, &db, demo)?;
    let runtime = runtime(&config)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Sign-in reads (or makes) the session key: a bad one stops the start.
    let sign_in = auth::sign_in(&config, &db, catalog.store())?;
    let portal = PortalConfig {
        guest_access: config.auth.guest,
        admins: config.auth.admins.clone(),
        sign_in: sign_in.clone(),
        secure_cookies: auth::secure_cookies(&config),
        api_tokens: config
            .api_tokens
            .iter()
            .map(|t| t.token(base))
            .collect::<anyhow::Result<_>>()
            .context("invalid configuration")?,
    };
    let rbac = greenroom_access::rbac::Rbac::new(
        greenroom_access::rbac::PolicyStore::new(db.clone()),
        greenroom_portal::bootstrap_admins(&portal),
    )
    .context("cannot read the published roles and policies")?;
    // Secret values are read here, so that a missing one stops the start.
    let outbound = egress::Outbound::read(&config, base)?;
    let runtime = Arc::new(runtime);
    let loader = plugins::loader(Arc::clone(&runtime), &db, &rbac, outbound);
    // Checked now (a bad entry is listed with its reason), compiled in the
    // background: the port opens at once, and a plugin still compiling
    // draws a "starting" card until it is ready (`/readyz` says when all are).
    let host = PluginHost::start(loader, plugins::entries(&config, base)?);
    // Say at start what a first visit would otherwise only show as a 401
    // or an empty home page.
    if !config.auth.guest && sign_in.is_none() {
        tracing::warn!(
            "guest access is off and no sign-in method is configured: every page will answer 401; \
             configure [auth.oidc] or [auth.proxy], or for local use run with --demo or set `[auth] guest = true`"
        );
    }
    if config.plugins.is_empty() {
        tracing::warn!(
            "no plugins are configured; add [[plugins]] entries, or try --demo (bundled: {})",
            plugins::bundled_names()
        );
    }
    // Plugins in the configuration win over installed ones of the same id.
    let configured: Vec<String> = host
        .list()
        .iter()
        .map(|p| p.manifest().id.to_string())
        .collect();
    let default_limits = config.limits.apply(greenroom_runtime::Limits::default())?;
    tokio.block_on(async move {
        let _refresh = catalog.spawn_refresh_loop();
        // Premium plugins run only with a licence; not under `plugin dev`,
        // where an author runs the plugin they are building.
        if reload.is_some() {
            host.waive_licences();
        } else {
            let licences = license::licences(&config, &db)?;
            if demo {
                license::add_demo_licence(&licences)?;
            }
            host.set_licences(licences);
        }
        let _licences = host.follow_licences();
        let scheduler = host.start_scheduler();
        if demo {
            // The demo's pages are full from the start: once the demo
            // catalog is in, every plugin's tasks run once (Soundcheck
            // collects its facts and evaluates).
            let (host, store) = (host.clone(), catalog.store().clone());
            tokio::spawn(async move {
                for _ in 0..120 {
                    if store.count().is_ok_and(|count| count > 0) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                host.run_tasks_once().await;
            });
        }
        if let Some(reload) = reload {
            reload.spawn(host.clone());
        }
        let loads = Arc::new(greenroom_lifecycle::Loads::default());
        // `greenroom rbac import` on this data directory takes effect
        // within seconds: the follower reloads it with the plugins.
        host.follow_installed(configured, default_limits, Arc::clone(&loads));
        let state = AppState::build(AppParts {
            plugins: host,
            config: portal,
            catalog,
            rbac: Some(rbac),
            admin: Some(Arc::new(greenroom_portal::Admin {
                marketplace: Arc::new(install::marketplace(&config, &db, None)?),
                token: Some(install::admin_token(&config.data_dir)?),
                loads,
            })),
        });
        let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
            format!("cannot listen on {}; is another Greenroom running? Choose another address with --listen", config.listen)
        })?;
        let address = listener.local_addr()?;
        tracing::info!("Greenroom is serving on http://{address}");
        println!("Greenroom is serving on http://{address}");
        // The peer address decides whether a proxy's sign-in header is
        // believed (`[auth.proxy] trusted-proxies`).
        let app = greenroom_portal::app(state)
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the server stopped")?;
        drop(scheduler);
        drop(runtime);
        anyhow::Ok(())
    })
}

/// The runtime a server on `config` runs plugins with, and its compiled
/// component cache.
fn runtime(config: &config::Config) -> anyhow::Result<Runtime> {
    Ok(Runtime::new(RuntimeConfig {
        cache_dir: Some(
            config
                .runtime
                .cache_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("cache").join("components")),
        ),
        max_instances: config.runtime.max_instances,
        max_instances_per_plugin: config.runtime.max_instances_per_plugin,
        max_task_instances: config.runtime.max_task_instances,
    })?)
}

/// The data directory's database, creating the directory if needed.
fn open_database(config: &config::Config) -> anyhow::Result<Database> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    Ok(Database::open(&config.data_dir.join("greenroom.db"))?)
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

fn plugin_list(data: DataDirArgs, remote: RemoteArgs) -> anyhow::Result<()> {
    let (config, base) = data.configure()?;
    if let Some(remote) = remote.connect(&config)? {
        return install::list_remote(&remote);
    }
    let installed: Vec<_> = install::installed_here(&config)?
        .into_iter()
        .map(|record| (record, None))
        .collect();
    if config.plugins.is_empty() {
        println!(
            "No plugins are configured. Add [[plugins]] entries to the config, or try --demo."
        );
        println!("Bundled plugins: {}", plugins::bundled_names());
        install::print_installed(&installed);
        return Ok(());
    }
    let default_limits = config.limits.apply(greenroom_runtime::Limits::default())?;
    let mut problems = 0;
    for entry in &config.plugins {
        let (label, prepared) = plugins::check(entry, &base, default_limits);
        match prepared {
            Ok(p) => {
                let manifest = p.artifact.manifest();
                println!(
                    "{} {} ({}, {})",
                    manifest.id, manifest.version, manifest.tier, label
                );
                println!("  {}", manifest.name);
                for capability in &manifest.capabilities {
                    match p.grant.coverage(capability) {
                        Coverage::Full => println!("  granted:     {capability}"),
                        Coverage::Partial(part) => {
                            println!("  partly:      {capability}, granted {part}")
                        }
                        Coverage::None => println!("  not granted: {capability}"),
                    }
                    let added = p.grant.added_origins(capability);
                    if !added.is_empty() {
                        let added: Vec<String> = added.into_iter().collect();
                        println!(
                            "  granted too: http ({}), added by the operator",
                            added.join(", ")
                        );
                    }
                }
                for slot in &manifest.slots {
                    println!(
                        "  slot:        {} `{}` ({})",
                        slot.kind, slot.name, slot.title
                    );
                }
            }
            Err(error) => {
                problems += 1;
                println!("{label}: cannot be loaded: {error:#}");
            }
        }
    }
    if !installed.is_empty() {
        println!();
        install::print_installed(&installed);
    }
    if problems > 0 {
        anyhow::bail!("{problems} configured plugin(s) cannot be loaded");
    }
    Ok(())
}

fn plugin_inspect(file: &Path) -> anyhow::Result<()> {
    let artifact = plugins::read_artifact(&config::PluginSource::File(file.to_owned()))
        .with_context(|| format!("{} is not a loadable plugin", file.display()))?;
    let manifest = artifact.manifest();
    println!("{} {} — {}", manifest.id, manifest.version, manifest.name);
    println!("  tier:      {}", manifest.tier);
    println!(
        "  contract:  greenroom:plugin@{} (served by {})",
        artifact.built_against(),
        artifact.wit_version()
    );
    println!("  digest:    {}", artifact.digest());
    println!(
        "  size:      {}",
        bytesize::ByteSize::b(artifact.bytes().len() as u64)
            .display()
            .iec()
    );
    if !manifest.description.is_empty() {
        println!("  about:     {}", manifest.description);
    }
    for capability in &manifest.capabilities {
        println!("  requests:  {capability}");
    }
    for slot in &manifest.slots {
        println!(
            "  slot:      {} `{}` ({})",
            slot.kind, slot.name, slot.title
        );
    }
    for permission in &manifest.permissions {
        println!(
            "  permission: {} — {}",
            permission.name, permission.description
        );
    }
    for task in &manifest.tasks {
        println!(
            "  task:      {} every {}",
            task.name,
            humantime::format_duration(task.every)
        );
    }
    // Compile and link it against this host, as a load would.
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: None,
        max_instances: 4,
        ..RuntimeConfig::default()
    })?;
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let db = Database::open(&scratch.path().join("inspect.db"))?;
    let env = greenroom_broker::PluginEnv::new(
        manifest,
        greenroom_contract::Grant::none(),
        serde_json::json!({}),
        &db,
    );
    let result = runtime.load(artifact.clone(), env, greenroom_runtime::Limits::default());
    result.with_context(|| format!("{} does not load on this host", file.display()))?;
    println!("  status:    compiles and links against this host");
    Ok(())
}
