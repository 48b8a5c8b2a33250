//! Turning the configuration's `[[plugins]]` into loaded plugins.

use crate::config::{Config, PluginConfig, PluginSource};
use crate::egress::Outbound;
use anyhow::{Context as _, anyhow};
use greenroom_access::rbac::Rbac;
use greenroom_broker::{Egress, PluginEnv};
use greenroom_contract::Artifact;
use greenroom_contract::Grant;
use greenroom_portal::FailedPlugin;
use greenroom_runtime::{Limits, LoadedPlugin, Runtime};
use greenroom_store::Database;
use std::path::Path;

/// Reads and checks a plugin's artifact, without compiling it.
pub fn read_artifact(source: &PluginSource) -> anyhow::Result<Artifact> {
    let bytes: Vec<u8> = match source {
        PluginSource::Bundled(name) => greenroom_artifacts::bundled(name)
            .map(|b| b.bytes.to_vec())
            .ok_or_else(|| {
                anyhow!(
                    "no bundled plugin `{name}`; bundled plugins: {}",
                    bundled_names()
                )
            })?,
        PluginSource::File(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
    };
    Ok(Artifact::from_bytes(bytes)?)
}

/// The names of the plugins compiled into this binary.
pub fn bundled_names() -> String {
    greenroom_artifacts::BUNDLED
        .iter()
        .map(|b| b.crate_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A plugin checked and ready to load: artifact, grant, settings, limits,
/// and how its outbound requests leave (none of the credentials until
/// [`Prepared::with_egress`]).
pub struct Prepared {
    pub artifact: Artifact,
    pub grant: Grant,
    pub settings: serde_json::Value,
    pub limits: Limits,
    pub egress: Egress,
    pub catalog_rules: greenroom_catalog::CatalogRules,
}

impl Prepared {
    /// Compiles (or takes from the cache) and links it, with its own
    /// environment of grant and settings, and the policy engine that
    /// decides what acting users may do through it.
    pub fn load(
        self,
        runtime: &Runtime,
        db: &Database,
        rbac: &Rbac,
    ) -> anyhow::Result<LoadedPlugin> {
        let manifest = self.artifact.manifest();
        rbac.declare_described(
            manifest
                .permissions
                .iter()
                .map(|p| (p.name.clone(), p.description.clone())),
        );
        let known = rbac.known_permissions();
        for slot in &manifest.slots {
            if let Some(requires) = slot.requires.as_deref().filter(|r| !known.contains(*r)) {
                anyhow::bail!(
                    "{} slot `{}` requires `{requires}`, which is neither a permission of this host \
                     nor one the plugin declares in [[permissions]]",
                    slot.kind,
                    slot.name
                );
            }
        }
        let catalog =
            greenroom_catalog::CatalogStore::new(db.clone()).with_rules(self.catalog_rules);
        let env = PluginEnv::new(manifest, self.grant, self.settings, db)
            .with_catalog(catalog)
            .with_rbac(rbac.clone())
            .with_egress(self.egress);
        Ok(runtime.load(self.artifact, env, self.limits)?)
    }

    /// Its share of the configured credentials and private hosts.
    pub fn with_egress(mut self, outbound: &Outbound) -> Prepared {
        self.egress = outbound.for_plugin(self.artifact.manifest().id.as_str());
        self.catalog_rules = outbound.catalog_rules().clone();
        self
    }
}

/// Checks one entry: its artifact, that the grant is within what it asks
/// for, that its settings match its schema, and its limits.
pub fn prepare(
    entry: &PluginConfig,
    base: &Path,
    default_limits: Limits,
) -> (String, anyhow::Result<Prepared>) {
    let source = match entry.source(base) {
        Ok(source) => source,
        Err(error) => return ("(invalid entry)".to_owned(), Err(error)),
    };
    let label = source.to_string();
    let prepared = (|| {
        let artifact = read_artifact(&source)?;
        let manifest = artifact.manifest();
        let grant = Grant::select(manifest, &entry.grant)?;
        let settings = manifest
            .resolve_settings(&serde_json::Value::Object(entry.settings.clone()))
            .map_err(|problems| {
                anyhow!(
                    "invalid settings for `{}`: {}",
                    manifest.id,
                    problems.join("; ")
                )
            })?;
        let limits = entry.limits.apply(default_limits)?;
        Ok(Prepared {
            artifact,
            grant,
            settings,
            limits,
            egress: Egress::default(),
            catalog_rules: Default::default(),
        })
    })();
    (label, prepared)
}

/// Loads every configured plugin. A plugin that cannot be loaded is
/// reported with the reason and left out; the others still load.
pub fn load_all(
    config: &Config,
    base: &Path,
    runtime: &Runtime,
    db: &Database,
    rbac: &Rbac,
    outbound: &Outbound,
) -> anyhow::Result<(Vec<LoadedPlugin>, Vec<FailedPlugin>)> {
    let default_limits = config.limits.apply(Limits::default())?;
    let mut loaded: Vec<LoadedPlugin> = Vec::new();
    let mut failed = Vec::new();
    for entry in &config.plugins {
        let (label, prepared) = prepare(entry, base, default_limits);
        let result = prepared.and_then(|p| {
            let id = p.artifact.manifest().id.clone();
            if let Some(other) = loaded.iter().find(|l| l.manifest().id == id) {
                return Err(anyhow!(
                    "plugin id `{id}` is already loaded (version {})",
                    other.manifest().version
                ));
            }
            p.with_egress(outbound).load(runtime, db, rbac)
        });
        match result {
            Ok(plugin) => loaded.push(plugin),
            Err(error) => {
                let error = format!("{error:#}");
                tracing::error!(plugin = %label, "plugin not loaded: {error}");
                failed.push(FailedPlugin {
                    source: label,
                    error,
                });
            }
        }
    }
    Ok((loaded, failed))
}
