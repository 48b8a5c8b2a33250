//! `greenroom licence issue|add|list|remove`: premium licences on a data
//! directory, and issuing them (for tests and the demo; a publisher's own
//! licensing service does the same with its key).

use crate::config::{Config, Overrides};
use crate::{DataDirArgs, configure, open_database};
use anyhow::Context as _;
use clap::Subcommand;
use greenroom_licensing::{
    Day, Licence, LicenceTerms, Licences, SEAT_WINDOW_DAYS, StoredLicence, issue_licence,
};
use greenroom_marketplace::{InstalledPlugins, SecretKey};
use greenroom_store::Database;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Who the audit log names for changes made from the command line.
const CLI_ACTOR: &str = "operator:cli";

#[derive(Subcommand)]
pub enum LicenseCommand {
    /// Issue a licence signed with a publisher key, for tests and demos:
    /// writes the licence file (or prints it).
    Issue {
        /// The publisher's signing key (from `greenroom keys generate`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The publisher name operators trust the key under.
        #[arg(long)]
        publisher: String,
        /// Who the licence is for.
        #[arg(long)]
        licensee: String,
        /// A plugin id it covers (repeat for several).
        #[arg(long = "plugin", value_name = "ID", required = true)]
        plugins: Vec<String>,
        /// How many people may use the portal in 30 days.
        #[arg(long)]
        seats: u32,
        /// The first day it no longer runs (UTC), YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        expires: Day,
        /// The day it is issued [default: today, UTC]
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        issued: Option<Day>,
        /// Where to write it [default: print it]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Verify a licence file (trusted publisher, signature, the publisher
    /// of the plugins installed here) and add it to the data directory. A
    /// running server on the same data directory applies it within
    /// seconds.
    Add {
        #[command(flatten)]
        data: DataDirArgs,
        /// The licence file.
        file: PathBuf,
    },
    /// List the licences added here: seats used and allowed, days left,
    /// and warnings.
    List {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Remove a licence (by the id `licence list` shows); the plugins it
    /// covered stop unless another licence covers them. Their data stays.
    Remove {
        #[command(flatten)]
        data: DataDirArgs,
        /// The licence's id.
        id: String,
    },
}

fn parse_day(text: &str) -> Result<Day, String> {
    Day::parse(text)
}

/// Runs a `greenroom licence` command.
pub fn run(command: LicenseCommand) -> anyhow::Result<()> {
    match command {
        LicenseCommand::Issue {
            key,
            publisher,
            licensee,
            plugins,
            seats,
            expires,
            issued,
            out,
        } => {
            let terms = LicenceTerms {
                licensee,
                publisher,
                plugins,
                seats,
                issued: issued.unwrap_or_else(|| Day::of(SystemTime::now())),
                expires,
            };
            issue(&key, terms, out.as_deref())
        }
        LicenseCommand::Add { data, file } => with_licences(data, |config, base, db, licences| {
            add(config, base, db, licences, &file)
        }),
        LicenseCommand::List { data } => with_licences(data, |_, _, _, licences| list(licences)),
        LicenseCommand::Remove { data, id } => with_licences(data, |_, _, _, licences| {
            let licence = licences.remove(&id, CLI_ACTOR)?;
            println!(
                "removed licence {id} ({}, {})",
                licence.licensee,
                plugin_ids(&licence)
            );
            println!(
                "a running server on this data directory stops the plugins it covered within seconds, unless another licence covers them; their data is kept"
            );
            Ok(())
        }),
    }
}

/// The licences of the data directory `config` names, verified against
/// its trusted publishers, with its grace period.
/// The demo publisher's signing key. It is public (it is in this
/// repository) and trusted only under `--demo`, which is for local use.
const DEMO_PUBLISHER_SECRET: &str = include_str!("../../../keys/greenroom-demo.key");

/// Under `--demo`: a licence for the bundled premium plugins (Soundcheck,
/// RBAC…) signed by the demo publisher, so the demo shows them. Added once;
/// a valid one already stored is kept.
pub fn add_demo_licence(licences: &Licences) -> anyhow::Result<()> {
    let now = SystemTime::now();
    let premium: Vec<String> = greenroom_artifacts::BUNDLED
        .iter()
        .filter_map(|b| greenroom_contract::Artifact::from_bytes(b.bytes).ok())
        .filter(|a| a.manifest().tier == greenroom_contract::Tier::Premium)
        .map(|a| a.manifest().id.to_string())
        .collect();
    let mut missing = Vec::new();
    for id in &premium {
        let status = licences.status(id, greenroom_contract::Tier::Premium, now)?;
        if !matches!(status, greenroom_licensing::LicenceStatus::Valid { .. }) {
            missing.push(id.clone());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let today = Day::of(now);
    let terms = LicenceTerms {
        licensee: "Greenroom demo".into(),
        publisher: greenroom_marketplace::DEMO_PUBLISHER.into(),
        plugins: premium,
        seats: 100,
        issued: today,
        expires: today.plus_days(365),
    };
    let key = SecretKey::parse(DEMO_PUBLISHER_SECRET).context("the demo publisher key")?;
    let licence = issue_licence(terms, &key)?;
    licences.add(
        &licence.to_text(),
        "the demo licence",
        "greenroom --demo",
        now,
    )?;
    Ok(())
}

pub fn licences(config: &Config, db: &Database) -> anyhow::Result<Licences> {
    let licences = Licences::new(db.clone(), config.marketplace.trusted()?);
    Ok(match config.marketplace.licence_grace_days {
        Some(days) => licences.with_grace_days(days),
        None => licences,
    })
}

fn with_licences(
    data: DataDirArgs,
    f: impl FnOnce(&Config, &Path, &Database, &Licences) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: None,
        data_dir: data.data_dir,
    };
    let (config, base) = configure(&data.source, overrides, None)?;
    let db = open_database(&config)?;
    let licences = licences(&config, &db)?;
    f(&config, &base, &db, &licences)
}

fn issue(key: &Path, terms: LicenceTerms, out: Option<&Path>) -> anyhow::Result<()> {
    let key = SecretKey::read(key)?;
    let licence = issue_licence(terms, &key)?;
    let text = licence.to_text();
    match out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!(
                "wrote licence {} to {}: {} for {}, {} seats, expires {}",
                licence.id(),
                path.display(),
                licence.licensee,
                plugin_ids(&licence),
                licence.seats,
                licence.expires
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn add(
    config: &Config,
    base: &Path,
    db: &Database,
    licences: &Licences,
    file: &Path,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the licence file {}", file.display()))?;
    let now = SystemTime::now();
    let added = licences.add(&text, &file.display().to_string(), CLI_ACTOR, now)?;
    let licence = &added.licence;
    println!(
        "added licence {}: {} for {}, {} seats, expires {}",
        added.id,
        licence.licensee,
        plugin_ids(licence),
        licence.seats,
        licence.expires
    );
    for old in &added.replaced {
        println!("  replaces licence {old}");
    }
    if licence.expires <= Day::of(now) {
        println!(
            "  warning: it expired on {}; the plugins it covers do not run with it",
            licence.expires
        );
    }
    let known = known_plugins(config, base, db);
    for plugin in &licence.plugins {
        if !known.iter().any(|id| id == plugin.as_str()) {
            println!(
                "  warning: no plugin `{plugin}` is configured or installed here; the licence applies once it is"
            );
        }
    }
    println!("a running server on this data directory applies it within seconds");
    Ok(())
}

/// The ids of the plugins configured or installed here (those that can be
/// read; a broken entry is `plugin list`'s business).
fn known_plugins(config: &Config, base: &Path, db: &Database) -> Vec<String> {
    let limits = greenroom_runtime::Limits::default();
    let configured = config
        .plugins
        .iter()
        .filter_map(|entry| crate::plugins::check(entry, base, limits).1.ok())
        .map(|prepared| prepared.artifact.manifest().id.to_string());
    let installed = InstalledPlugins::new(db.clone())
        .list()
        .unwrap_or_default()
        .into_iter()
        .map(|installed| installed.id);
    configured.chain(installed).collect()
}

fn list(licences: &Licences) -> anyhow::Result<()> {
    let now = SystemTime::now();
    let today = Day::of(now);
    let active = licences.active_users(now)?;
    let stored = licences.list(now)?;
    println!(
        "{active} {} used the portal in the last {SEAT_WINDOW_DAYS} days (today is {today}, UTC)",
        if active == 1 { "person" } else { "people" }
    );
    if stored.is_empty() {
        println!("no licences; add one with `greenroom licence add FILE`");
        return Ok(());
    }
    for StoredLicence {
        id,
        licence,
        status,
        ..
    } in &stored
    {
        println!();
        println!("{id}  {} — {}", licence.licensee, plugin_ids(licence));
        println!(
            "  publisher: {} (issued {})",
            licence.publisher, licence.issued
        );
        println!("  seats:     {active} used of {}", licence.seats);
        let left = today.days_until(licence.expires);
        if left > 0 {
            println!("  expires:   {} ({left} days left)", licence.expires);
        } else {
            println!("  expires:   {} (expired)", licence.expires);
        }
        println!("  status:    {}", status.describe());
        for plugin in &licence.plugins {
            if let Some(warning) = status.warning(plugin.as_str(), today) {
                println!("  warning:   {warning}");
            }
        }
    }
    Ok(())
}

/// A licence's standing, in one line.
fn plugin_ids(licence: &Licence) -> String {
    licence
        .plugins
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
