//! From a plugin entry to a loaded plugin: read, checked, compiled.

use anyhow::{Context as _, anyhow};
use greenroom_access::rbac::Rbac;
use greenroom_broker::{Egress, PluginEnv};
use greenroom_catalog::{CatalogRules, CatalogStore};
use greenroom_contract::Artifact;
use greenroom_contract::Grant;
use greenroom_runtime::{Limits, LoadedPlugin, Runtime};
use greenroom_store::Database;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a plugin's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Compiled into this binary, by crate name (e.g. `hello`).
    Bundled(String),
    /// A component file.
    File(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Bundled(name) => write!(f, "bundled:{name}"),
            PluginSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One plugin to run: where it comes from, what the operator grants it
/// (`all`, `catalog:read`, `http:<origin>` …), its settings and limits.
#[derive(Debug, Clone)]
pub struct PluginEntry {
    pub source: PluginSource,
    pub grant: Vec<String>,
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub limits: Limits,
}

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

/// A plugin checked and ready to load: its artifact, the grant selected
/// from its manifest, its settings resolved against its schema, limits.
pub struct Prepared {
    pub artifact: Artifact,
    pub grant: Grant,
    pub settings: serde_json::Value,
    pub limits: Limits,
}

/// Checks one entry: its artifact, that the grant is within what it asks
/// for, and that its settings match its schema.
pub fn prepare(entry: &PluginEntry) -> anyhow::Result<Prepared> {
    let artifact = read_artifact(&entry.source)?;
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
    Ok(Prepared {
        artifact,
        grant,
        settings,
        limits: entry.limits,
    })
}

/// How a plugin's outbound requests leave: its share of the configured
/// credentials and private hosts, by plugin id.
pub type EgressFor = Arc<dyn Fn(&str) -> Egress + Send + Sync>;

/// What loading a plugin needs besides its entry: the engine, the
/// database its storage and the catalog live in, the policy engine that
/// decides what acting users may do through it, and its way out.
#[derive(Clone)]
pub struct Loader {
    runtime: Arc<Runtime>,
    db: Database,
    rbac: Rbac,
    egress: EgressFor,
    catalog_rules: CatalogRules,
}

impl Loader {
    /// A loader compiling with `runtime`, storing in `db`, deciding with
    /// `rbac`; `egress` gives each plugin its outbound credentials and
    /// private hosts, and `catalog_rules` say whose Users and Groups count
    /// when a plugin asks who someone is.
    pub fn new(
        runtime: Arc<Runtime>,
        db: Database,
        rbac: Rbac,
        egress: EgressFor,
        catalog_rules: CatalogRules,
    ) -> Loader {
        Loader {
            runtime,
            db,
            rbac,
            egress,
            catalog_rules,
        }
    }

    /// The policy engine plugins are loaded with (reloaded in place when
    /// the published policy changes).
    pub fn rbac(&self) -> &Rbac {
        &self.rbac
    }

    /// The database plugins store in.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Compiles (or takes from the cache) and links `prepared`, with its
    /// own environment of grant and settings: [`Loader::environment`] then
    /// [`Loader::compile`].
    pub fn load(&self, prepared: Prepared) -> anyhow::Result<LoadedPlugin> {
        self.compile(&self.environment(prepared)?)
    }

    /// Builds `prepared`'s environment, without compiling it. Permissions
    /// the plugin declares become known to RBAC; a slot that requires a
    /// permission that is neither the host's nor declared is refused.
    pub(crate) fn environment(&self, prepared: Prepared) -> anyhow::Result<Unbuilt> {
        let manifest = prepared.artifact.manifest();
        self.rbac.declare_described(
            manifest
                .permissions
                .iter()
                .map(|p| (p.name.clone(), p.description.clone())),
        );
        let known = self.rbac.known_permissions();
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
        let catalog = CatalogStore::new(self.db.clone()).with_rules(self.catalog_rules.clone());
        let env = PluginEnv::new(manifest, prepared.grant, prepared.settings, &self.db)
            .with_catalog(catalog)
            .with_rbac(self.rbac.clone())
            .with_egress((self.egress)(manifest.id.as_str()));
        Ok(Unbuilt {
            artifact: prepared.artifact,
            env: Arc::new(env),
            limits: prepared.limits,
        })
    }

    /// Compiles (or takes from the cache) and links `unbuilt`: CPU-bound,
    /// up to seconds for a large plugin with a cold cache.
    pub(crate) fn compile(&self, unbuilt: &Unbuilt) -> anyhow::Result<LoadedPlugin> {
        Ok(self.runtime.load(
            unbuilt.artifact.clone(),
            Arc::clone(&unbuilt.env),
            unbuilt.limits,
        )?)
    }
}

/// A plugin checked and given its environment, not yet compiled: what a
/// host shows while it compiles.
pub(crate) struct Unbuilt {
    pub(crate) artifact: Artifact,
    pub(crate) env: Arc<PluginEnv>,
    pub(crate) limits: Limits,
}
