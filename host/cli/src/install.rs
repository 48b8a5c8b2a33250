//! `greenroom plugin search|info|install|upgrade|remove|enable|disable|list`
//! on a data directory (offline) or against a running server's admin API
//! (`--server`), and a running server following the installed plugins: it
//! loads, swaps and drops them to match the records while it keeps serving.

use crate::config::Config;
use crate::remote::Remote;
use anyhow::{Context as _, bail};
use greenroom_lifecycle::LoadStatus;
use greenroom_marketplace::{
    Builtins, CandidateView, Installed, InstalledPlugins, Marketplace, Progress, SourcedIndex,
};
use greenroom_portal::InstallBody;
use greenroom_store::Database;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use std::time::Duration;

/// Who the audit log records for changes made with the CLI offline.
const CLI_ACTOR: &str = "operator:cli";

/// The repository's own index, compiled in: `builtin` as an index source.
const BUILTIN_INDEX_TEXT: &str = include_str!("../../../marketplace-index.toml");

/// The data directory's marketplace, reading the configured indexes (or
/// just `index`, when given).
pub fn marketplace(
    config: &Config,
    db: &Database,
    index: Option<&str>,
) -> anyhow::Result<Marketplace> {
    let indexes = match index {
        Some(index) => vec![index.to_owned()],
        None => config.marketplace.indexes.clone(),
    };
    Ok(Marketplace::new(
        db.clone(),
        config.data_dir.join("plugins"),
        config.marketplace.trusted()?,
        indexes,
        builtins(),
    ))
}

/// The plugins and the index compiled into this binary.
pub fn builtins() -> Builtins {
    Builtins {
        bundled: Some(|name| greenroom_artifacts::bundled(name).map(|b| b.bytes)),
        index: Some(BUILTIN_INDEX_TEXT),
    }
}

/// What `plugin install` and `plugin upgrade` were asked.
pub struct InstallRequest<'a> {
    /// The plugin's id.
    pub id: &'a str,
    /// The index, when not the configured ones.
    pub index: Option<&'a str>,
    /// A version; the newest when none.
    pub version: Option<&'a str>,
    /// Grants chosen on the command line (`--grant`).
    pub grants: &'a [String],
    /// Grant everything requested without asking.
    pub yes: bool,
    /// Refuse unless the plugin is installed already.
    pub upgrade: bool,
}

/// A download progress bar on stderr, when it is a terminal.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new() -> Bar {
        Bar(std::io::stderr().is_terminal().then(ProgressBar::hidden))
    }
}

impl Progress for Bar {
    fn start(&self, location: &str, total: Option<u64>) {
        let Some(bar) = &self.0 else { return };
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        match total {
            Some(total) => {
                bar.set_length(total);
                bar.set_style(
                    ProgressStyle::with_template(
                        "  {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                );
            }
            None => bar.set_style(
                ProgressStyle::with_template("  {msg} {spinner} {bytes}")
                    .expect("a valid template"),
            ),
        }
        bar.set_message(format!("fetching {location}"));
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A spinner for work without a measure (compiling), when stderr is a
/// terminal.
fn spinner(message: &str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    })
}

/// `greenroom plugin install|upgrade` on the data directory: fetch, verify,
/// show what it asks for, record the operator's grants, keep a verified
/// copy and compile it into the cache, so a running server on the data
/// directory swaps it in within seconds.
pub fn install(config: &Config, request: &InstallRequest<'_>) -> anyhow::Result<()> {
    // The data directory is created only once the plugin is verified.
    let (existing, _scratch) = existing_or_scratch(config)?;
    let candidate = {
        let marketplace = marketplace(config, &existing, request.index)?;
        let index = marketplace.find(request.id, request.index)?;
        marketplace.prepare(&index, request.id, request.version, &Bar::new())?
    };
    let view = candidate.view();
    check_upgrade(&view, request)?;
    let grants = consent(&view, request)?;
    let db = crate::open_database(config)?;
    let installed =
        marketplace(config, &db, request.index)?.install(&candidate, &grants, CLI_ACTOR)?;
    precompile(config, &candidate.artifact)?;
    report(&view, &installed);
    println!("a running server on this data directory loads it within a few seconds");
    Ok(())
}

/// The data directory's database if there is one, else a scratch one
/// (kept alive by the returned directory): reading indexes and verifying
/// plugins never creates a data directory.
fn existing_or_scratch(config: &Config) -> anyhow::Result<(Database, Option<tempfile::TempDir>)> {
    let database = config.data_dir.join("greenroom.db");
    if database.is_file() {
        return Ok((Database::open(&database)?, None));
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let db = Database::open(&scratch.path().join("scratch.db"))?;
    Ok((db, Some(scratch)))
}

/// `--upgrade`: refuses what is not installed, and says when there is
/// nothing newer.
fn check_upgrade(view: &CandidateView, request: &InstallRequest<'_>) -> anyhow::Result<()> {
    if !request.upgrade {
        return Ok(());
    }
    match &view.installed_version {
        None => bail!(
            "{} is not installed; use `greenroom plugin install {}`",
            view.id,
            view.id
        ),
        Some(v) if *v == view.version && request.version.is_none() => {
            bail!(
                "{} {} is the newest version the index offers; nothing to upgrade",
                view.id,
                v
            )
        }
        Some(_) => Ok(()),
    }
}

/// Compiles the plugin into the cache a server on this data directory
/// uses, so its swap is a cache hit; a plugin that does not link against
/// this host is reported now rather than by the server.
fn precompile(config: &Config, artifact: &greenroom_contract::Artifact) -> anyhow::Result<()> {
    let runtime = crate::runtime(config)?;
    let bar = spinner(&format!("compiling {}", artifact.manifest().id));
    let compiled = runtime.precompile(artifact);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if compiled.context("it does not load on this host")? {
        println!("  compiled and cached for this host");
    }
    Ok(())
}

fn report(view: &CandidateView, installed: &Installed) {
    match &view.installed_version {
        Some(old) if *old != installed.version => {
            println!("upgraded {} {old} → {}", installed.id, installed.version)
        }
        _ => println!("installed {} {}", installed.id, installed.version),
    }
    println!(
        "  granted:  {}",
        if installed.grants.is_empty() {
            "nothing".into()
        } else {
            installed.grants.join(", ")
        }
    );
}

/// Prints what the plugin is and asks for, then the grants the operator
/// chose: `--grant` as given, `--yes` for all, or asked capability by
/// capability. On an upgrade, capabilities granted before are kept and
/// only new ones are asked about.
fn consent(view: &CandidateView, request: &InstallRequest<'_>) -> anyhow::Result<Vec<String>> {
    println!(
        "{} {} — {} (published by {}, {})",
        view.id, view.version, view.name, view.publisher, view.tier
    );
    println!(
        "  verified: sha256 {} signed by {}",
        view.sha256, view.publisher
    );
    if let Some(old) = &view.installed_version {
        println!("  installed now: {old}");
    }
    if view.requests.is_empty() {
        println!("  requests: nothing");
    }
    for request in &view.requests {
        let note = if request.granted_before {
            " (granted before)"
        } else if request.new {
            " (new)"
        } else {
            ""
        };
        println!("  requests: {}{note}", request.capability);
        if !request.meaning.is_empty() {
            println!("            {}", request.meaning);
        }
        if request.operator_origins {
            println!(
                "            it may be pointed at origins you choose: grant each with --grant http:<origin>"
            );
        }
        if !request.added_origins.is_empty() {
            println!(
                "            origins added before (kept): {}",
                request.added_origins.join(", ")
            );
        }
        if let Some(warning) = &request.warning {
            println!("            warning: {warning}");
        }
    }
    for dropped in &view.dropped {
        println!("  no longer requests: {dropped}");
    }
    if !request.grants.is_empty() {
        return Ok(request.grants.to_vec());
    }
    let kept: Vec<String> = view
        .requests
        .iter()
        .filter(|r| r.granted_before)
        .flat_map(|r| r.grants.clone())
        .chain(
            view.requests
                .iter()
                .flat_map(|r| r.added_origins.iter().map(|o| format!("http:{o}"))),
        )
        .collect();
    let to_ask: Vec<_> = view.requests.iter().filter(|r| !r.granted_before).collect();
    if to_ask.is_empty() {
        return Ok(kept);
    }
    if request.yes {
        return Ok(kept
            .into_iter()
            .chain(to_ask.iter().flat_map(|r| r.grants.clone()))
            .collect());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let asked: Vec<&str> = to_ask.iter().map(|r| r.capability.as_str()).collect();
        bail!(
            "consent is needed for: {}; answer at a terminal, or pass --grant or --yes",
            asked.join(", ")
        );
    }
    let mut grants = kept;
    for request in to_ask {
        if !request.grants.is_empty() {
            print!("grant {}? [y/N] ", request.capability);
            std::io::stdout().flush()?;
            if matches!(read_answer()?.as_str(), "y" | "Y" | "yes") {
                grants.extend(request.grants.clone());
            }
        }
        if request.operator_origins {
            grants.extend(ask_origins()?);
        }
    }
    Ok(grants)
}

fn read_answer() -> anyhow::Result<String> {
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}

/// Asks which other origins a plugin with `operator-origins` may reach,
/// until every one given is an origin; returns their grants.
fn ask_origins() -> anyhow::Result<Vec<String>> {
    loop {
        print!(
            "other origins it may reach, e.g. sonar.example.com:9000 (separate with spaces; Enter for none): "
        );
        std::io::stdout().flush()?;
        let answer = read_answer()?;
        let origins: Result<Vec<String>, _> = answer
            .split_whitespace()
            .map(|o| greenroom_contract::HttpOrigin::parse(o).map(|o| format!("http:{o}")))
            .collect();
        match origins {
            Ok(origins) => return Ok(origins),
            Err(error) => println!("{error}"),
        }
    }
}

/// `greenroom plugin install|upgrade --server URL`: the same, through a
/// running server's admin API, which verifies again and installs exactly
/// the bytes consented to.
pub fn install_remote(remote: &Remote, request: &InstallRequest<'_>) -> anyhow::Result<()> {
    let mut query = Vec::new();
    if let Some(index) = request.index {
        query.push(("index", index));
    }
    if let Some(version) = request.version {
        query.push(("version", version));
    }
    let view: CandidateView = remote.get(
        &format!("/api/admin/marketplace/{}/candidate", request.id),
        &query,
    )?;
    check_upgrade(&view, request)?;
    let grants = consent(&view, request)?;
    let spinner = spinner(&format!("installing {} on {}", view.id, remote.url()));
    let answer: anyhow::Result<serde_json::Value> = remote.post(
        &format!("/api/admin/plugins/{}/install", view.id),
        &InstallBody {
            index: Some(view.index.clone()),
            version: Some(view.version.clone()),
            grants,
            sha256: Some(view.sha256.clone()),
        },
    );
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let answer = answer?;
    let installed: Installed = serde_json::from_value(answer["installed"].clone())
        .context("the server's answer has no installed plugin")?;
    report(&view, &installed);
    match serde_json::from_value::<Option<LoadStatus>>(answer["load"].clone()) {
        Ok(Some(LoadStatus { error: None, .. })) => println!("  loaded and serving"),
        Ok(Some(LoadStatus {
            error: Some(error), ..
        })) => bail!("the server could not load it: {error}"),
        _ => println!("  the server is still loading it"),
    }
    Ok(())
}

/// `greenroom plugin remove ID [--purge]` on the data directory.
pub fn remove(config: &Config, db: &Database, id: &str, purge: bool) -> anyhow::Result<()> {
    let (removed, purged) = marketplace(config, db, None)?.remove(id, purge, CLI_ACTOR)?;
    print_removed(&removed, purge, purged);
    Ok(())
}

/// `greenroom plugin remove ID [--purge] --server URL`.
pub fn remove_remote(remote: &Remote, id: &str, purge: bool) -> anyhow::Result<()> {
    let answer: serde_json::Value = remote.delete(
        &format!("/api/admin/plugins/{id}"),
        &[("purge", if purge { "true" } else { "false" })],
    )?;
    let removed: Installed = serde_json::from_value(answer["removed"].clone())
        .context("the server's answer has no removed plugin")?;
    print_removed(&removed, purge, answer["purged_keys"].as_u64().unwrap_or(0));
    Ok(())
}

fn print_removed(removed: &Installed, purge: bool, purged: u64) {
    println!("removed {} {}", removed.id, removed.version);
    if purge {
        println!("  purged {purged} stored keys");
    } else {
        println!("  its data is kept; reinstalling it finds it again (--purge deletes it)");
    }
}

/// `greenroom plugin enable|disable ID` on the data directory.
pub fn set_enabled(config: &Config, db: &Database, id: &str, enabled: bool) -> anyhow::Result<()> {
    marketplace(config, db, None)?.set_enabled(id, enabled, CLI_ACTOR)?;
    println!("{} {id}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}

/// `greenroom plugin enable|disable ID --server URL`.
pub fn set_enabled_remote(remote: &Remote, id: &str, enabled: bool) -> anyhow::Result<()> {
    let verb = if enabled { "enable" } else { "disable" };
    let _: serde_json::Value = remote.post(
        &format!("/api/admin/plugins/{id}/{verb}"),
        &serde_json::json!({}),
    )?;
    println!("{verb}d {id}");
    Ok(())
}

/// The installed plugins, printed.
pub fn print_installed(list: &[(Installed, Option<LoadStatus>)]) {
    if list.is_empty() {
        println!("No plugins are installed from an index here.");
        return;
    }
    println!("Installed from an index:");
    for (record, load) in list {
        let state = match (record.enabled, load) {
            (false, _) => "disabled".to_owned(),
            (true, Some(LoadStatus { error: None, .. })) => "serving".to_owned(),
            (true, Some(LoadStatus { error: Some(e), .. })) => format!("not loaded: {e}"),
            (true, None) => "enabled".to_owned(),
        };
        println!(
            "{} {} (from {}, {state})",
            record.id, record.version, record.index_source
        );
        println!(
            "  granted:     {}",
            if record.grants.is_empty() {
                "nothing".into()
            } else {
                record.grants.join(", ")
            }
        );
    }
}

/// The installed plugins of a data directory, without creating it.
pub fn installed_here(config: &Config) -> anyhow::Result<Vec<Installed>> {
    let database = config.data_dir.join("greenroom.db");
    if !database.is_file() {
        return Ok(Vec::new());
    }
    Ok(InstalledPlugins::new(Database::open(&database)?).list()?)
}

/// `greenroom plugin list --server URL`: what the server has installed and
/// what it made of each.
pub fn list_remote(remote: &Remote) -> anyhow::Result<()> {
    let answer: serde_json::Value = remote.get("/api/admin/plugins", &[])?;
    let list: Vec<(Installed, Option<LoadStatus>)> = answer["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            Ok((
                serde_json::from_value(p["record"].clone())?,
                serde_json::from_value(p["load"].clone())?,
            ))
        })
        .collect::<Result<_, serde_json::Error>>()
        .context("the server's answer is not a list of installed plugins")?;
    print_installed(&list);
    Ok(())
}

/// The indexes to read: `index` when given, else the configured ones.
fn read_indexes(config: &Config, index: Option<&str>) -> anyhow::Result<Vec<SourcedIndex>> {
    let (db, _scratch) = existing_or_scratch(config)?;
    let marketplace = marketplace(config, &db, index)?;
    if marketplace.index_sources().is_empty() {
        return Err(greenroom_marketplace::LifecycleError::NoIndexes.into());
    }
    let mut indexes = Vec::new();
    for index in marketplace.indexes() {
        match index {
            Ok(index) => indexes.push(index),
            Err((source, error)) if marketplace.index_sources().len() == 1 => {
                return Err(error).with_context(|| format!("cannot read the index {source}"));
            }
            Err((source, error)) => eprintln!("warning: cannot read the index {source}: {error}"),
        }
    }
    Ok(indexes)
}

/// `greenroom plugin search [TEXT]`: the plugins of the indexes whose id,
/// name or summary contains the text (all when none), newest version each,
/// and whether they are installed here.
pub fn search(config: &Config, index: Option<&str>, text: Option<&str>) -> anyhow::Result<()> {
    let installed = installed_here(config)?;
    let needle = text.unwrap_or_default().to_lowercase();
    let mut found = 0;
    for sourced in read_indexes(config, index)? {
        for plugin in &sourced.index.plugins {
            let haystack =
                format!("{} {} {}", plugin.id, plugin.name, plugin.summary).to_lowercase();
            if !haystack.contains(&needle) {
                continue;
            }
            found += 1;
            let newest = plugin.version(None).map_or("-", |v| v.version.as_str());
            let here = installed
                .iter()
                .find(|i| i.id == plugin.id)
                .map(|i| format!(" (installed {})", i.version))
                .unwrap_or_default();
            println!(
                "{:<24} {:<10} {:<8} {}{here}",
                plugin.id, newest, plugin.tier, plugin.summary
            );
        }
    }
    if found == 0 {
        println!("no plugin matches");
    }
    Ok(())
}

/// `greenroom plugin info ID`: everything the index says about a plugin —
/// publisher, homepage, and per version what it requests — so an operator
/// can read it before consenting.
pub fn info(config: &Config, index: Option<&str>, id: &str) -> anyhow::Result<()> {
    let indexes = read_indexes(config, index)?;
    let (sourced, plugin) = indexes
        .iter()
        .find_map(|s| s.index.plugin(id).map(|p| (s, p)))
        .with_context(|| match index {
            Some(index) => format!("{index} has no plugin `{id}`"),
            None => format!("no configured index lists a plugin `{id}`"),
        })?;
    println!("{} — {}", plugin.id, plugin.name);
    println!("  {}", plugin.summary);
    println!("  publisher: {}", plugin.publisher);
    println!("  tier:      {}", plugin.tier);
    println!("  index:     {}", sourced.source);
    if let Some(homepage) = &plugin.homepage {
        println!("  homepage:  {homepage}");
    }
    for version in &plugin.versions {
        println!(
            "  version {} (greenroom:plugin@{}), sha256 {}",
            version.version, version.wit, version.sha256
        );
        if version.capabilities.is_empty() {
            println!("    requests nothing");
        }
        for capability in &version.capabilities {
            println!("    requests {capability}");
        }
    }
    Ok(())
}

/// The server's admin token, in its data directory: created at first start
/// (readable by the owner only), read by the CLI on the same machine.
pub fn admin_token(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("admin-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        let token = token.trim().to_owned();
        if token.len() >= 32 {
            return Ok(token);
        }
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(token.as_bytes())?;
    Ok(token)
}
