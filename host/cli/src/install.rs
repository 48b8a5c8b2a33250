//! Installing plugins from a marketplace index into a data directory
//! (`greenroom plugin install|remove|enable|disable`), and a running
//! server following those records: it loads, swaps and drops plugins to
//! match them, while it keeps serving.

use crate::config::Config;
use anyhow::{Context as _, bail};
use greenroom_access::{AuditEvent, AuditLog, Decision};
use greenroom_broker::{Grant, grant_specs};
use greenroom_contract::Artifact;
use greenroom_marketplace::{Index, Installed, InstalledPlugins, verify};
use greenroom_store::{Database, PluginStore};
use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often a running server looks at the installed plugins.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// What `plugin install` was asked.
pub struct InstallRequest<'a> {
    /// The plugin's id.
    pub id: &'a str,
    /// The index: a file or an `https:` URL.
    pub index: &'a str,
    /// A version; the newest when none.
    pub version: Option<&'a str>,
    /// Grants chosen on the command line (`--grant`).
    pub grants: &'a [String],
    /// Grant everything requested without asking.
    pub yes: bool,
}

/// `greenroom plugin install`: fetch, verify, show what it asks for, record
/// the operator's grants, keep a verified copy. An installed plugin of the
/// same id is upgraded; capabilities it did not have before need consent
/// again.
pub fn install(config: &Config, request: &InstallRequest<'_>) -> anyhow::Result<()> {
    let (index, folder) = read_index(request.index)?;
    let plugin = index.plugin(request.id).with_context(|| {
        let ids: Vec<&str> = index.plugins.iter().map(|p| p.id.as_str()).collect();
        format!(
            "{} has no plugin `{}`; it lists: {}",
            request.index,
            request.id,
            ids.join(", ")
        )
    })?;
    let version = plugin.version(request.version).with_context(|| {
        let versions: Vec<&str> = plugin.versions.iter().map(|v| v.version.as_str()).collect();
        format!(
            "`{}` has no version {:?}; it has {}",
            plugin.id,
            request.version,
            versions.join(", ")
        )
    })?;
    let bytes = crate::publish::fetch_artifact(&version.artifact, &folder)?;
    let artifact = verify(plugin, version, &bytes, &config.marketplace.trusted()?)?;
    let manifest = artifact.manifest();
    println!(
        "{} {} — {} (published by {}, {})",
        plugin.id, version.version, plugin.name, plugin.publisher, plugin.tier
    );
    println!(
        "  verified: sha256 {} signed by {}",
        version.sha256, plugin.publisher
    );
    // The data directory is touched only once the plugin is verified.
    let db = &crate::open_database(config)?;
    let records = InstalledPlugins::new(db.clone());
    let previous = records.get(&plugin.id)?;
    let grants = consent(&artifact, previous.as_ref(), request)?;
    Grant::select(manifest, &grants).context("the grant")?;

    let folder = config.data_dir.join("plugins");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join(format!(
        "{}-{}-{}.wasm",
        plugin.id,
        version.version,
        &version.sha256[..12]
    ));
    write_atomically(&path, &bytes)?;
    let installed = Installed {
        id: plugin.id.clone(),
        version: version.version.clone(),
        publisher: plugin.publisher.clone(),
        index_source: request.index.to_owned(),
        sha256: version.sha256.clone(),
        artifact: path.display().to_string(),
        grants: grants.clone(),
        enabled: previous.as_ref().is_none_or(|p| p.enabled),
    };
    records.record(&installed)?;
    let action = match &previous {
        Some(p) if p.version != installed.version => "plugin.upgrade",
        Some(_) => "plugin.reinstall",
        None => "plugin.install",
    };
    audit(
        db,
        &plugin.id,
        action,
        &format!(
            "{} {} from {}, granted [{}]",
            plugin.id,
            version.version,
            request.index,
            grants.join(", ")
        ),
    );
    match previous {
        Some(p) if p.version != installed.version => {
            println!(
                "upgraded {} {} → {}",
                plugin.id, p.version, installed.version
            )
        }
        _ => println!("installed {} {}", plugin.id, installed.version),
    }
    println!(
        "  granted:  {}",
        if grants.is_empty() {
            "nothing".into()
        } else {
            grants.join(", ")
        }
    );
    println!("a running server on this data directory loads it within a few seconds");
    Ok(())
}

/// The grants the operator chose: `--grant` as given, `--yes` for all, or
/// asked capability by capability. On an upgrade, capabilities granted
/// before are kept and only new ones are asked about.
fn consent(
    artifact: &Artifact,
    previous: Option<&Installed>,
    request: &InstallRequest<'_>,
) -> anyhow::Result<Vec<String>> {
    let manifest = artifact.manifest();
    if manifest.capabilities.is_empty() {
        println!("  requests: nothing");
        return Ok(Vec::new());
    }
    let old_grant = previous.and_then(|p| Grant::select(manifest, &p.grants).ok());
    let mut grants = Vec::new();
    let mut to_ask = Vec::new();
    for capability in &manifest.capabilities {
        let kept = old_grant
            .as_ref()
            .is_some_and(|g| g.coverage(capability) == greenroom_broker::Coverage::Full);
        if kept {
            println!("  requests: {capability} (granted before)");
            grants.extend(grant_specs(capability));
        } else {
            println!(
                "  requests: {capability}{}",
                if previous.is_some() { " (new)" } else { "" }
            );
            to_ask.push(capability);
        }
    }
    if !request.grants.is_empty() {
        return Ok(request.grants.to_vec());
    }
    if to_ask.is_empty() {
        return Ok(grants);
    }
    if request.yes {
        grants.extend(to_ask.iter().flat_map(|c| grant_specs(c)));
        return Ok(grants);
    }
    let stdin = std::io::stdin();
    if !std::io::IsTerminal::is_terminal(&stdin) {
        bail!(
            "consent is needed for: {}; answer at a terminal, or pass --grant or --yes",
            join(&to_ask)
        );
    }
    for capability in to_ask {
        print!("grant {capability}? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            grants.extend(grant_specs(capability));
        }
    }
    Ok(grants)
}

fn join(capabilities: &[&greenroom_contract::Capability]) -> String {
    capabilities
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `greenroom plugin remove ID [--purge]`.
pub fn remove(db: &Database, id: &str, purge: bool) -> anyhow::Result<()> {
    let removed = InstalledPlugins::new(db.clone()).remove(id)?;
    let _ = std::fs::remove_file(&removed.artifact);
    let purged = if purge {
        PluginStore::purge(db, id)?
    } else {
        0
    };
    audit(
        db,
        id,
        "plugin.remove",
        &if purge {
            format!(
                "removed {id} {} and purged its {purged} stored keys",
                removed.version
            )
        } else {
            format!("removed {id} {}; its data is kept", removed.version)
        },
    );
    println!("removed {id} {}", removed.version);
    if purge {
        println!("  purged {purged} stored keys");
    } else {
        println!("  its data is kept; reinstalling it finds it again (--purge deletes it)");
    }
    Ok(())
}

/// `greenroom plugin enable|disable ID`.
pub fn set_enabled(db: &Database, id: &str, enabled: bool) -> anyhow::Result<()> {
    InstalledPlugins::new(db.clone()).set_enabled(id, enabled)?;
    let action = if enabled {
        "plugin.enable"
    } else {
        "plugin.disable"
    };
    audit(db, id, action, action);
    println!("{} {id}", if enabled { "enabled" } else { "disabled" });
    Ok(())
}

fn audit(db: &Database, plugin: &str, action: &str, reason: &str) {
    let event = AuditEvent {
        actor: Some("operator:cli"),
        plugin: Some(plugin),
        action,
        resource: None,
        decision: Decision::Allow,
        reason,
    };
    if let Err(error) = AuditLog::new(db.clone()).record(&event) {
        tracing::error!(%error, "could not record {action} in the audit log");
    }
}

/// An index from a file or an `http(s)` URL, and where its relative
/// artifact paths are resolved (its folder or URL).
fn read_index(source: &str) -> anyhow::Result<(Index, String)> {
    if source.starts_with("https://") || source.starts_with("http://") {
        let text = reqwest::blocking::get(source)
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.text())
            .with_context(|| format!("cannot fetch the index {source}"))?;
        let base = source
            .rsplit_once('/')
            .map_or(source, |(b, _)| b)
            .to_owned();
        return Ok((Index::parse(&text, source)?, base));
    }
    let path = Path::new(source);
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let index = Index::read(path).with_context(|| {
        format!("no marketplace index at {source}; pass --index with an index file or URL")
    })?;
    Ok((index, folder.display().to_string()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("wasm.partial");
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A running server follows the installed plugins: every few seconds it
/// loads what was installed or upgraded (a new build is compiled before it
/// is swapped in, so the old one serves until then, and a failed load
/// leaves it serving), and drops what was removed or disabled.
pub fn follow(
    db: Database,
    runtime: Arc<greenroom_runtime::Runtime>,
    state: greenroom_portal::AppState,
    configured: Vec<String>,
    limits: greenroom_runtime::Limits,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let records = InstalledPlugins::new(db.clone());
        // What this loop loaded: id → (sha256, grants).
        let mut loaded: HashMap<String, (String, Vec<String>)> = HashMap::new();
        loop {
            match records.list() {
                Ok(list) => {
                    for record in &list {
                        if configured.contains(&record.id) {
                            continue;
                        }
                        let current = (record.sha256.clone(), record.grants.clone());
                        if !record.enabled || loaded.get(&record.id) == Some(&current) {
                            continue;
                        }
                        match load(record, &db, &runtime, limits) {
                            Ok(plugin) => {
                                state.replace_plugin(Arc::new(plugin));
                                tracing::info!(plugin = %record.id, version = %record.version, "installed plugin loaded");
                                loaded.insert(record.id.clone(), current);
                            }
                            Err(error) => {
                                tracing::error!(plugin = %record.id, "installed plugin not loaded: {error:#}");
                                // Not retried until the record changes.
                                loaded.insert(record.id.clone(), current);
                            }
                        }
                    }
                    let keep: Vec<&str> = list
                        .iter()
                        .filter(|r| r.enabled)
                        .map(|r| r.id.as_str())
                        .collect();
                    let gone: Vec<String> = loaded
                        .keys()
                        .filter(|id| !keep.contains(&id.as_str()))
                        .cloned()
                        .collect();
                    for id in gone {
                        state.remove_plugin(&id);
                        loaded.remove(&id);
                        tracing::info!(plugin = %id, "installed plugin unloaded");
                    }
                }
                Err(error) => tracing::error!(%error, "cannot read the installed plugins"),
            }
            std::thread::sleep(FOLLOW_EVERY);
        }
    })
}

/// Loads an installed plugin as a `[[plugins]]` entry would be, after
/// checking that its verified copy was not changed since.
fn load(
    record: &Installed,
    db: &Database,
    runtime: &greenroom_runtime::Runtime,
    limits: greenroom_runtime::Limits,
) -> anyhow::Result<greenroom_runtime::LoadedPlugin> {
    let entry = crate::config::PluginConfig {
        path: Some(PathBuf::from(&record.artifact)),
        grant: record.grants.clone(),
        ..crate::config::PluginConfig::default()
    };
    let prepared = crate::plugins::prepare(&entry, Path::new("."), limits).1?;
    if prepared.artifact.digest().hex() != record.sha256 {
        bail!(
            "{} changed on disk since it was verified; install it again",
            record.artifact
        );
    }
    prepared.load(runtime, db)
}

/// `greenroom plugin search [TEXT] --index …`: the plugins of an index whose
/// id, name or summary contains the text (all when none), newest version
/// each, and whether they are installed here.
pub fn search(config: &Config, index: &str, text: Option<&str>) -> anyhow::Result<()> {
    let (index, _) = read_index(index)?;
    // Searching never creates a data directory.
    let database = config.data_dir.join("greenroom.db");
    let installed = if database.is_file() {
        InstalledPlugins::new(Database::open(&database)?).list()?
    } else {
        Vec::new()
    };
    let needle = text.unwrap_or_default().to_lowercase();
    let mut found = 0;
    for plugin in &index.plugins {
        let haystack = format!("{} {} {}", plugin.id, plugin.name, plugin.summary).to_lowercase();
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
    if found == 0 {
        println!("no plugin matches");
    }
    Ok(())
}

/// `greenroom plugin info ID --index …`: everything the index says about a
/// plugin — publisher, homepage, and per version what it requests — so an
/// operator can read it before consenting.
pub fn info(index: &str, id: &str) -> anyhow::Result<()> {
    let (index_data, _) = read_index(index)?;
    let plugin = index_data
        .plugin(id)
        .with_context(|| format!("{index} has no plugin `{id}`"))?;
    println!("{} — {}", plugin.id, plugin.name);
    println!("  {}", plugin.summary);
    println!("  publisher: {}", plugin.publisher);
    println!("  tier:      {}", plugin.tier);
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
