//! Turning the configuration's `[[plugins]]` into the entries the plugin
//! host loads (`greenroom_lifecycle`).

use crate::config::{Config, PluginConfig};
use crate::egress::Outbound;
use greenroom_access::rbac::Rbac;
use greenroom_lifecycle::{Loader, PluginEntry};
use greenroom_runtime::{Limits, Runtime};
use greenroom_store::Database;
use std::path::Path;
use std::sync::Arc;

pub use greenroom_lifecycle::{bundled_names, prepare, read_artifact};

/// One configured entry as the plugin host takes it: where it comes
/// from, its grant, settings, and its limits over `default_limits`; with
/// the label it is reported under (`bundled:<name>` or its path).
pub fn entry(
    config: &PluginConfig,
    base: &Path,
    default_limits: Limits,
) -> (String, anyhow::Result<PluginEntry>) {
    let source = match config.source(base) {
        Ok(source) => source,
        Err(error) => return ("(invalid entry)".to_owned(), Err(error)),
    };
    let label = source.to_string();
    let entry = config
        .limits
        .apply(default_limits)
        .map(|limits| PluginEntry {
            source,
            grant: config.grant.clone(),
            settings: config.settings.clone(),
            limits,
        });
    (label, entry)
}

/// Every configured entry (see [`entry`]).
pub fn entries(
    config: &Config,
    base: &Path,
) -> anyhow::Result<Vec<(String, anyhow::Result<PluginEntry>)>> {
    let default_limits = config.limits.apply(Limits::default())?;
    Ok(config
        .plugins
        .iter()
        .map(|p| entry(p, base, default_limits))
        .collect())
}

/// Checks one configured entry without compiling it (`plugin list`).
pub fn check(
    config: &PluginConfig,
    base: &Path,
    default_limits: Limits,
) -> (String, anyhow::Result<greenroom_lifecycle::Prepared>) {
    let (label, entry) = entry(config, base, default_limits);
    (label, entry.and_then(|e| prepare(&e)))
}

/// How this server loads plugins: with `runtime`, into `db`, deciding
/// with `rbac`, each plugin leaving through its share of `outbound`.
pub fn loader(runtime: Arc<Runtime>, db: &Database, rbac: &Rbac, outbound: Outbound) -> Loader {
    let rules = outbound.catalog_rules().clone();
    let outbound = Arc::new(outbound);
    Loader::new(
        runtime,
        db.clone(),
        rbac.clone(),
        Arc::new(move |id: &str| outbound.for_plugin(id)),
        rules,
    )
}
