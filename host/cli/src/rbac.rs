//! `greenroom rbac export|import`: the published roles and policies as a
//! readable YAML file, for review in version control.

use crate::config::Config;
use crate::{DataDirArgs, open_database};
use anyhow::Context as _;
use clap::Subcommand;
use greenroom_access::rbac::{PolicyDocument, PolicyStore, Rbac};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `greenroom rbac …`.
#[derive(Subcommand)]
pub enum RbacCommand {
    /// Write the published roles and policies to FILE (`-` for stdout) as
    /// YAML.
    Export {
        #[command(flatten)]
        data: DataDirArgs,
        /// Where to write.
        file: PathBuf,
    },
    /// Check FILE completely (YAML, role names, members, permissions the
    /// host and the configured or installed plugins declare, conditions)
    /// and publish it; nothing changes unless all of it is valid. A running
    /// server on the data directory applies it within seconds.
    Import {
        #[command(flatten)]
        data: DataDirArgs,
        /// The policy file.
        file: PathBuf,
        /// Only check it.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs a `greenroom rbac` command.
pub fn run(command: RbacCommand) -> anyhow::Result<()> {
    match command {
        RbacCommand::Export { data, file } => data.with_database(|_, db| {
            let document = PolicyStore::new(db.clone())
                .published()?
                .map(|v| v.document)
                .unwrap_or_default();
            let yaml = document.to_yaml();
            if file.as_os_str() == "-" {
                print!("{yaml}");
            } else {
                std::fs::write(&file, &yaml)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                eprintln!("wrote {} roles to {}", document.roles.len(), file.display());
            }
            Ok(())
        }),
        RbacCommand::Import {
            data,
            file,
            dry_run,
        } => {
            let (config, base) = data.configure()?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let document = PolicyDocument::from_yaml(
                &text,
                &file.display().to_string(),
                &known_permissions(&config, &base)?,
            )?;
            let roles = document.roles.len();
            let policies: usize = document.roles.iter().map(|r| r.policies.len()).sum();
            if dry_run {
                println!(
                    "{}: valid — {roles} roles, {policies} policies",
                    file.display()
                );
                return Ok(());
            }
            let db = open_database(&config)?;
            let id = PolicyStore::new(db).publish(
                &document,
                "operator:cli",
                &format!("imported from {}", file_name(&file)),
            )?;
            println!("published version {id}: {roles} roles, {policies} policies");
            println!("a running server on this data directory applies it within a few seconds");
            Ok(())
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The host's permissions and those the configured and installed plugins
/// declare: what a policy may name.
fn known_permissions(config: &Config, base: &Path) -> anyhow::Result<BTreeSet<String>> {
    let engine = Rbac::fixed(PolicyDocument::default(), Vec::new());
    let mut manifests = Vec::new();
    for entry in &config.plugins {
        if let Ok(source) = entry.source(base)
            && let Ok(artifact) = crate::plugins::read_artifact(&source)
        {
            manifests.push(artifact.manifest().clone());
        }
    }
    for record in crate::install::installed_here(config)? {
        if let Ok(artifact) = crate::plugins::read_artifact(&crate::config::PluginSource::File(
            PathBuf::from(&record.artifact),
        )) {
            manifests.push(artifact.manifest().clone());
        }
    }
    for manifest in manifests {
        engine.declare(manifest.permissions.iter().map(|p| p.name.clone()));
    }
    Ok(engine.known_permissions())
}
